using Loom.Errors;
using Loom.Sessions;
using Loom.Worlds;
using Loom.Timeline;

namespace Loom.Gateway.Http;

/// <summary>Request bodies of the HTTP API (responses are the grain contracts themselves).</summary>
public sealed record PublishWorldBody(string? Title, Dictionary<string, string>? Files, string? Visibility = null, List<string?>? SharedWith = null);

/// <summary>PATCH /api/worlds/{id}: <c>{ visibility?, sharedWith? }</c>.</summary>
public sealed record WorldAccessBody(string? Visibility, List<string?>? SharedWith)
{
    public WorldAccessChange ToChange() => new()
    {
        Visibility = Visibility switch
        {
            null => null,
            "public" => WorldVisibility.Public,
            "private" => WorldVisibility.Private,
            _ => throw Problems.Invalid("visibility", "visibility must be public or private."),
        },
        SharedWith = SharedWith?.Select(s => s ?? "").ToList(),
    };
}

public sealed record CreateSessionBody(string? WorldId, string? Name, int? CanonVersion, LlmSettings? Llm, InterventionPolicy? Policy = null, int? Greeting = null);

public sealed record PatchSessionBody(string? Name, SessionStatus? Status, InterventionPolicy? Policy = null);

public sealed record RollbackBody(int? ToSeq, string? Reason);

public sealed record ForkBody(int? AtSeq, string? Name, string? Reason);

public sealed record SubmitTurnBody(string? Input);

/// <summary>Regenerate and continue: an optional reason for the audit log.</summary>
public sealed record ReworkBody(string? Reason);

public sealed record ResendBody(string? Input, string? Reason);

public sealed record ChoiceBody(int? Alternative, string? Reason);

public sealed record MemoryEditBody(string? Type, string? Name, string? Content, Dictionary<string, string>? Attributes, string? Reason = null);

public sealed record MemorySearchBody(string? Query, string? Mode, int? Limit);

/// <summary>The list envelope: <c>{ items, next }</c>.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary><c>{ items }</c> without a cursor.</summary>
public sealed record ItemList<T>(IReadOnlyList<T> Items);

public sealed record CreateKeyBody(string? Owner, string[]? Roles, string? Name, DateTimeOffset? ExpiresAt);

/// <summary>A new database key: its record and, this once, the key itself.</summary>
public sealed record CreatedKey(
    string KeyId, string Key, string Prefix, string Owner, string[] Roles, string? Name,
    DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset? ExpiresAt)
{
    public static CreatedKey From(Loom.Security.ApiKeyInfo info, string key) =>
        new(info.KeyId, key, info.Prefix, info.Owner, info.Roles, info.Name, info.CreatedAt, info.CreatedBy, info.ExpiresAt);
}
