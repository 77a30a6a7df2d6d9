namespace Loom.Security;

/// <summary>What the gateway hands the key store for a new key: only the key's SHA-256, never the key itself.</summary>
[GenerateSerializer, Alias("loom.ApiKeyDraft")]
public sealed record ApiKeyDraft
{
    /// <summary>Lower-case hex SHA-256 of the key (the key grain's id).</summary>
    [Id(0)] public required string Sha256 { get; init; }
    /// <summary>The first characters of the key, so people can tell their keys apart in lists.</summary>
    [Id(1)] public required string Prefix { get; init; }
    [Id(2)] public string? Owner { get; init; }
    [Id(3)] public string[]? Roles { get; init; }
    [Id(4)] public string? Name { get; init; }
    [Id(5)] public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>The admin who created the key.</summary>
    [Id(6)] public required string CreatedBy { get; init; }
}

/// <summary>A database key as admins see it (the hash stays inside the store).</summary>
[GenerateSerializer, Alias("loom.ApiKeyInfo")]
public sealed record ApiKeyInfo
{
    [Id(0)] public required string KeyId { get; init; }
    [Id(1)] public required string Prefix { get; init; }
    [Id(2)] public required string Owner { get; init; }
    [Id(3)] public required string[] Roles { get; init; }
    [Id(4)] public string? Name { get; init; }
    [Id(5)] public DateTimeOffset CreatedAt { get; init; }
    [Id(6)] public string? CreatedBy { get; init; }
    [Id(7)] public DateTimeOffset? LastUsedAt { get; init; }
    [Id(8)] public DateTimeOffset? ExpiresAt { get; init; }
    [Id(9)] public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Usable at <paramref name="now"/>: neither revoked nor expired.</summary>
    public bool IsActiveAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

[GenerateSerializer, Alias("loom.ApiKeyQuery")]
public sealed record ApiKeyQuery
{
    [Id(0)] public int Limit { get; init; } = 50;
    /// <summary>The last key id of the previous page.</summary>
    [Id(1)] public string? After { get; init; }
    /// <summary>Only this owner's keys.</summary>
    [Id(2)] public string? Owner { get; init; }
}

[GenerateSerializer, Alias("loom.ApiKeyPage")]
public sealed record ApiKeyPage
{
    [Id(0)] public List<ApiKeyInfo> Items { get; init; } = [];
    [Id(1)] public string? Next { get; init; }
}
