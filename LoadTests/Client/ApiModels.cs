namespace Loom.LoadTests.Client;

// Only the fields the runner reads; the contract (shared/api.md) has more.

public sealed record SessionInfo(string SessionId, string? Name, string? Status, int TurnCount, int PendingTurns);

public sealed record TurnError(string? Code, string? Message);

public sealed record TurnUsage(long PromptTokens, long CompletionTokens, decimal CostUsd);

public sealed record TurnInfo(string TurnId, int Seq, string Status, double? LatencyMs, string? Narrative, TurnError? Error,
    TurnUsage? Usage = null, string? Provider = null, string? Model = null, string? Input = null);

public sealed record CanonVersionInfo(string WorldId, int Version, string? Hash);

public sealed record ValidationInfo(bool Valid);

public sealed record MemoryEntityInfo(string EntityId, string Type, string Name, string? Content, int Version);

public sealed record MemoryHit(MemoryEntityInfo Entity, double Score);

public sealed record ItemList<T>(IReadOnlyList<T> Items, string? Next);
