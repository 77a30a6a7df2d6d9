using Microsoft.Extensions.AI;

namespace Loom.Llm;

/// <summary>Hands out one shared <see cref="IChatClient"/> per configured provider.</summary>
public interface ILlmClientFactory
{
    /// <summary>The configured default provider (<c>Loom:Llm:Provider</c>).</summary>
    string DefaultProvider { get; }

    /// <summary>True when <paramref name="provider"/> is supported and configured, i.e. <see cref="GetClient"/> would succeed.</summary>
    bool IsKnown(string provider);

    /// <summary>The model used for <paramref name="provider"/> when a session names none.</summary>
    /// <exception cref="Loom.Errors.LoomProblemException">422 llm_provider_unknown for unknown/unconfigured providers.</exception>
    string DefaultModel(string provider);

    /// <summary>True when sessions may use <paramref name="model"/> with the (known) <paramref name="provider"/>.</summary>
    bool IsKnownModel(string provider, string model);

    /// <exception cref="Loom.Errors.LoomProblemException">422 llm_provider_unknown for unknown/unconfigured providers.</exception>
    IChatClient GetClient(string provider);
}
