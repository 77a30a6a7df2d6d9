namespace Loom.Security;

/// <summary>
/// One database API key, keyed by the lower-case hex SHA-256 of the key: the store never sees or keeps the key
/// itself. Created and revoked only through <see cref="IApiKeyIndexGrain"/>, which keeps the list.
/// </summary>
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>Stores a new key (validated by the index); 409 problem when this hash is already a key.</summary>
    Task<ApiKeyInfo> Create(string keyId, ApiKeyDraft draft);

    /// <summary>The key, also when revoked or expired (callers check <see cref="ApiKeyInfo.IsActiveAt"/>); null when unknown.</summary>
    [ReadOnly] Task<ApiKeyInfo?> Get();

    /// <summary>Marks the key revoked (idempotent: the first revocation time stays).</summary>
    Task<ApiKeyInfo?> Revoke();

    /// <summary>Records a use; writes at most once a minute. One-way: authentication never waits for it.</summary>
    [OneWay] Task Touch(DateTimeOffset usedAt);

    /// <summary>Removes a key whose creation could not be completed (the index refused or failed to list it).</summary>
    Task Forget();
}

/// <summary>The list of database keys (single activation, key 0): creates, lists, revokes, and answers whether any is active.</summary>
public interface IApiKeyIndexGrain : IGrainWithIntegerKey
{
    /// <summary>Validates the draft (400/422 problems), stores the key and lists it.</summary>
    Task<ApiKeyInfo> Create(ApiKeyDraft draft);

    /// <summary>Oldest first; <see cref="ApiKeyQuery.After"/> is the last key id of the previous page.</summary>
    [ReadOnly] Task<ApiKeyPage> List(ApiKeyQuery query);

    /// <summary>404 problem when no key has this id.</summary>
    [ReadOnly] Task<ApiKeyInfo> Get(string keyId);

    /// <summary>Revokes the key; 404 problem when no key has this id.</summary>
    Task Revoke(string keyId);

    /// <summary>True when some database key is neither revoked nor expired (ends the anonymous loopback mode).</summary>
    [ReadOnly] Task<bool> HasActiveKeys();
}
