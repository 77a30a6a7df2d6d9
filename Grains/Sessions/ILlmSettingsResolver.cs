namespace Loom.Sessions;

/// <summary>Turns a session's requested narrator settings into concrete ones (configured defaults filled in),
/// refusing unknown providers or out-of-range values before any turn is played.</summary>
public interface ILlmSettingsResolver
{
    LlmSettings Resolve(LlmSettings? requested);
}
