using Loom.Errors;
using Loom.Storage;

namespace Loom.Security;

[GenerateSerializer, Alias("loom.ApiKeyState")]
public sealed class ApiKeyState
{
    [Id(0)] public ApiKeyInfo? Key { get; set; }
}

/// <summary>
/// One database key, stored under the SHA-256 of the key (so the "loom" storage holds hashes only). Gateways read
/// it on authentication (cached for a few seconds) and touch it at most once a minute.
/// </summary>
public sealed class ApiKeyGrain(
    [PersistentState("apikey", StorageNames.Provider)] IPersistentState<ApiKeyState> state,
    TimeProvider clock) : Grain, IApiKeyGrain, IMayHoldNothing
{
    public async Task<ApiKeyInfo> Create(string keyId, ApiKeyDraft draft)
    {
        if (state.State.Key is not null) throw Problems.Conflict("key_exists", "This key already exists; create a new one.");
        state.State.Key = new ApiKeyInfo
        {
            KeyId = keyId,
            Prefix = draft.Prefix,
            Owner = draft.Owner!,
            Roles = draft.Roles!,
            Name = draft.Name,
            CreatedAt = clock.GetUtcNow(),
            CreatedBy = draft.CreatedBy,
            ExpiresAt = draft.ExpiresAt,
        };
        await WriteOrRevertAsync(null);
        return state.State.Key;
    }

    public Task<ApiKeyInfo?> Get()
    {
        // Guessed keys must not pile up as idle activations.
        EmptyActivations.Retire(this);
        return Task.FromResult(state.State.Key);
    }

    bool IMayHoldNothing.HoldsNothing => state.State.Key is null;

    public async Task<ApiKeyInfo?> Revoke()
    {
        if (state.State.Key is not { RevokedAt: null } key) return state.State.Key;
        state.State.Key = key with { RevokedAt = clock.GetUtcNow() };
        await WriteOrRevertAsync(key);
        return state.State.Key;
    }

    public async Task Touch(DateTimeOffset usedAt)
    {
        if (state.State.Key is not { RevokedAt: null } key) return;
        if (key.LastUsedAt is { } last && usedAt - last < ApiKeyRules.TouchInterval) return;
        state.State.Key = key with { LastUsedAt = usedAt };
        await WriteOrRevertAsync(key);
    }

    public async Task Forget()
    {
        await state.ClearStateAsync();
        state.State = new ApiKeyState();
        EmptyActivations.Retire(this);
    }

    private async Task WriteOrRevertAsync(ApiKeyInfo? previous)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Key = previous;
            throw;
        }
    }
}
