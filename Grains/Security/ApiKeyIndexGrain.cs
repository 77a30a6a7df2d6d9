using System.Security.Cryptography;
using Loom.Errors;
using Loom.Storage;
using Microsoft.Extensions.Logging;

namespace Loom.Security;

[GenerateSerializer, Alias("loom.ApiKeyIndexEntry")]
public sealed record ApiKeyIndexEntry
{
    [Id(0)] public required string KeyId { get; init; }
    [Id(1)] public required string Sha256 { get; init; }
    [Id(2)] public required string Owner { get; init; }
    [Id(3)] public DateTimeOffset? ExpiresAt { get; init; }
    [Id(4)] public DateTimeOffset? RevokedAt { get; init; }
}

[GenerateSerializer, Alias("loom.ApiKeyIndexState")]
public sealed class ApiKeyIndexState
{
    /// <summary>Oldest first.</summary>
    [Id(0)] public List<ApiKeyIndexEntry> Keys { get; set; } = [];
}

/// <summary>
/// The list of database keys (key 0). Admin operations are rare, so one activation serialises them; the keys'
/// details live in their own grains, which authentication reads directly.
/// </summary>
public sealed partial class ApiKeyIndexGrain(
    [PersistentState("apikeyindex", StorageNames.Provider)] IPersistentState<ApiKeyIndexState> state,
    IGrainFactory grains,
    TimeProvider clock,
    ILogger<ApiKeyIndexGrain> logger) : Grain, IApiKeyIndexGrain
{
    /// <summary>Bounds this grain's state (revoked keys stay listed for audit).</summary>
    public const int MaxKeys = 10_000;

    public async Task<ApiKeyInfo> Create(ApiKeyDraft draft)
    {
        var roles = Validate(draft);
        if (state.State.Keys.Count >= MaxKeys)
        {
            throw Problems.Unprocessable("too_many_keys", $"The key store holds its maximum of {MaxKeys} keys.");
        }

        var keyId = "k" + RandomNumberGenerator.GetString("abcdefghijkmnpqrstuvwxyz23456789", 16);
        var key = grains.GetGrain<IApiKeyGrain>(draft.Sha256);
        var info = await key.Create(keyId, draft with { Owner = draft.Owner!.Trim(), Roles = roles, Name = ApiKeyRules.NormalizeName(draft.Name) });
        var entry = new ApiKeyIndexEntry { KeyId = keyId, Sha256 = draft.Sha256, Owner = info.Owner, ExpiresAt = info.ExpiresAt };
        state.State.Keys.Add(entry);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // An unlisted key could neither be listed nor revoked: take it back.
            state.State.Keys.Remove(entry);
            await key.Forget();
            throw;
        }
        LogCreated(keyId, info.Owner, string.Join(",", info.Roles), draft.CreatedBy);
        return info;
    }

    public async Task<ApiKeyPage> List(ApiKeyQuery query)
    {
        var keys = state.State.Keys.Where(k => query.Owner is null || k.Owner == query.Owner).ToList();
        var start = 0;
        if (!string.IsNullOrEmpty(query.After))
        {
            var index = keys.FindIndex(k => k.KeyId == query.After);
            if (index < 0) throw Problems.Invalid("after", "after is not a cursor from this list.");
            start = index + 1;
        }
        var page = keys.Skip(start).Take(query.Limit).ToList();
        var infos = await Task.WhenAll(page.Select(k => grains.GetGrain<IApiKeyGrain>(k.Sha256).Get()));
        return new ApiKeyPage
        {
            Items = infos.OfType<ApiKeyInfo>().ToList(),
            Next = start + page.Count < keys.Count && page.Count > 0 ? page[^1].KeyId : null,
        };
    }

    public async Task<ApiKeyInfo> Get(string keyId) =>
        await grains.GetGrain<IApiKeyGrain>(Find(keyId).Sha256).Get() ?? throw Problems.NotFound("API key", keyId);

    public async Task Revoke(string keyId)
    {
        var entry = Find(keyId);
        var info = await grains.GetGrain<IApiKeyGrain>(entry.Sha256).Revoke();
        if (entry.RevokedAt is not null || info?.RevokedAt is null) return;
        LogRevoked(keyId, entry.Owner);
        var index = state.State.Keys.IndexOf(entry);
        state.State.Keys[index] = entry with { RevokedAt = info.RevokedAt };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // The key grain already refuses the key; the list catches up on the next revoke.
            state.State.Keys[index] = entry;
            throw;
        }
    }

    public Task<bool> HasActiveKeys()
    {
        var now = clock.GetUtcNow();
        return Task.FromResult(state.State.Keys.Any(k => k.RevokedAt is null && (k.ExpiresAt is null || k.ExpiresAt > now)));
    }

    private ApiKeyIndexEntry Find(string keyId) =>
        state.State.Keys.Find(k => k.KeyId == keyId) ?? throw Problems.NotFound("API key", keyId);

    private string[] Validate(ApiKeyDraft draft)
    {
        if (!ApiKeyRules.IsSha256Hex(draft.Sha256)) throw Problems.Invalid("sha256", "The key hash must be a lower-case hex SHA-256.");
        if (!ApiKeyRules.IsValidOwner(draft.Owner?.Trim())) throw Problems.Invalid("owner", $"owner is required: {ApiKeyRules.OwnerRule}.");
        if (draft.Roles is not { Length: > 0 } roles)
        {
            throw Problems.Invalid("roles", $"roles must name at least one of {string.Join(", ", LoomRoles.All)}.");
        }
        // A null role is as unknown as a misspelt one (it used to be stored, and every request with the key then failed).
        if (roles.Any(r => r is null || !LoomRoles.IsKnown(r)))
        {
            var unknown = roles.First(r => r is null || !LoomRoles.IsKnown(r));
            throw Problems.Invalid("roles", $"Unknown role '{unknown ?? "null"}': roles are {string.Join(", ", LoomRoles.All)}.");
        }
        if (!ApiKeyRules.IsValidName(draft.Name))
        {
            throw Problems.Invalid("name", $"name must be at most {ApiKeyRules.MaxNameChars} characters, without control characters.");
        }
        if (draft.ExpiresAt is { } expires && expires <= clock.GetUtcNow())
        {
            throw Problems.Unprocessable("invalid_expiry", "expiresAt must be in the future.",
                new Dictionary<string, string[]> { ["expiresAt"] = ["expiresAt must be in the future."] });
        }
        return roles.Distinct(StringComparer.Ordinal).ToArray();
    }

    // Key management is rare and security-relevant: always logged (ids and owners only, never a key or hash).
    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} created for {Owner} with roles {Roles} by {CreatedBy}")]
    private partial void LogCreated(string keyId, string owner, string roles, string createdBy);

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} of {Owner} revoked")]
    private partial void LogRevoked(string keyId, string owner);
}
