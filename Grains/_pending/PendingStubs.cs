// TEMPORARY: stand-ins for pieces being written on other branches; deleted when they merge.
using Loom.Llm;
using Loom.Sessions;
using Loom.Turns;
using Loom.Worlds;



namespace Loom.Prompt
{
    public sealed record PromptRequest
    {
        public required CanonVersion Canon { get; init; }
        public required IReadOnlyList<TurnView> History { get; init; }
        public string Context { get; init; } = "";
        public required string Input { get; init; }
    }
    public sealed record AssembledPrompt(List<LlmMessage> Messages, int PromptTokens);
    public sealed class PromptAssembler
    {
        public AssembledPrompt Assemble(PromptRequest r) => new(
            [new LlmMessage { Role = LlmRole.System, Content = string.Join("\n\n", (r.Canon.Files ?? []).OrderBy(f => f.Key).Select(f => f.Value)) },
             new LlmMessage { Role = LlmRole.User, Content = r.Input }], 0);
    }
}

namespace Loom.Sessions
{
    public sealed class PendingLlmSettingsResolver : ILlmSettingsResolver
    {
        public LlmSettings Resolve(LlmSettings? requested) => new() { Provider = requested?.Provider ?? "offline", Model = requested?.Model ?? "loom-offline-1", Temperature = requested?.Temperature, MaxTokens = requested?.MaxTokens };
    }
}




