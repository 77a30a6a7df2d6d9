using System.Text.Json;
using System.Text.Json.Serialization;

namespace Loom.Cli.Api;

// The CLI's own view of the public REST API (docs/api.md): only the fields it shows or sends. Unknown fields are
// ignored, so the gateway can grow without breaking the tool; --json prints the server's answer verbatim instead.

public sealed record Page<T>(List<T> Items, string? Next);

public sealed record Usage(long PromptTokens, long CompletionTokens, decimal CostUsd);

public sealed record WorldVersionRef(int Version, DateTime CreatedAt, string Hash);

public sealed record World(string WorldId, string Title, int LatestVersion, List<WorldVersionRef> Versions, DateTime UpdatedAt,
    string? Owner, string? Visibility);

public sealed record Issue(string Code, string Message, string? File, int? Line);

public sealed record Section(string Name, string Type, string? File);

public sealed record CanonVersion(string WorldId, int Version, string Hash, string? Title, List<Section> Sections, List<Issue>? Warnings);

public sealed record Validation(bool Valid, List<Issue> Errors, List<Issue> Warnings, List<Section> Sections);

public sealed record FileDiff(string File, string Status, string? Diff);

public sealed record WorldDiff(int From, int To, List<FileDiff> Files);

public sealed record ImportedWorld(string WorldId, int Version);

public sealed record LlmRef(string Provider, string Model);

public sealed record Session(string SessionId, string Name, string WorldId, int CanonVersion, string Status, DateTime CreatedAt,
    DateTime UpdatedAt, int TurnCount, int PendingTurns, DateTime? LastTurnAt, LlmRef Llm, Usage Usage, string? ForkedFrom);

public sealed record Intervention(string Type, string Content, string? Status, string? Detail);

public sealed record TurnError(string Code, string Message);

public sealed record Turn(string TurnId, int Seq, string Input, string Status, string? Narrative, List<Intervention>? Interventions,
    Usage? Usage, TurnError? Error, string? OocReply, List<string>? Warnings)
{
    public bool IsFinished => Status is "completed" or "failed" or "retconned";
}

public sealed record TurnDelta(string TurnId, string Text);

public sealed record LoreFired(string Entry, string? Reason, string? Key, int Tokens);

public sealed record ContextTokens(int Canon, int Lore, int LoreBudget, int Context, int ContextBudget, int RecentTurns,
    int RecentTurnsBudget, int Opening, int Input, int Total, int TotalBudget);

public sealed record PromptContext(string WorldId, int CanonVersion, List<LoreFired> Lore, List<string> Memory, List<string> Summaries,
    List<int> RecentTurns, int RecentTurnsOmitted, bool Opening, string Input, ContextTokens Tokens, bool ContextTruncated);

public sealed record TurnContext(string TurnId, int Seq, string Status, PromptContext Context);

public sealed record UsagePeriod(string Period, Usage Usage, int Turns);

public sealed record BudgetLimits(decimal? DailyUsd, decimal? MonthlyUsd, long? DailyTokens, long? MonthlyTokens);

public sealed record OwnerUsage(string OwnerId, Usage Total, int Turns, UsagePeriod Day, UsagePeriod Month, BudgetLimits Budget);

public sealed record ApiKey(string KeyId, string Prefix, string Owner, string[] Roles, string? Name, DateTimeOffset CreatedAt,
    string? CreatedBy, DateTimeOffset? LastUsedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

public sealed record CreatedKey(string KeyId, string Key, string Prefix, string Owner, string[] Roles, string? Name,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

// Request bodies.
public sealed record CanonBody(string? Title, Dictionary<string, string> Files);

public sealed record LlmChoice(string? Provider, string? Model);

public sealed record NewSessionBody(string WorldId, string? Name, int? CanonVersion, LlmChoice? Llm);

public sealed record RenameBody(string Name);

public sealed record InputBody(string Input);

public sealed record RollbackBody(int ToSeq, string? Reason);

public sealed record ForkBody(int AtSeq, string? Name, string? Reason);

public sealed record NewKeyBody(string Owner, string[] Roles, string? Name, DateTimeOffset? ExpiresAt);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Page<World>))]
[JsonSerializable(typeof(World))]
[JsonSerializable(typeof(CanonVersion))]
[JsonSerializable(typeof(Validation))]
[JsonSerializable(typeof(WorldDiff))]
[JsonSerializable(typeof(ImportedWorld))]
[JsonSerializable(typeof(Session))]
[JsonSerializable(typeof(Page<Session>))]
[JsonSerializable(typeof(Turn))]
[JsonSerializable(typeof(Page<Turn>))]
[JsonSerializable(typeof(TurnDelta))]
[JsonSerializable(typeof(TurnContext))]
[JsonSerializable(typeof(OwnerUsage))]
[JsonSerializable(typeof(ApiKey))]
[JsonSerializable(typeof(Page<ApiKey>))]
[JsonSerializable(typeof(CreatedKey))]
[JsonSerializable(typeof(CanonBody))]
[JsonSerializable(typeof(NewSessionBody))]
[JsonSerializable(typeof(RenameBody))]
[JsonSerializable(typeof(InputBody))]
[JsonSerializable(typeof(RollbackBody))]
[JsonSerializable(typeof(ForkBody))]
[JsonSerializable(typeof(NewKeyBody))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ApiJson : JsonSerializerContext;
