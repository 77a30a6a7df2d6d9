namespace Loom.Storage;

/// <summary>The grain storage every LOOM grain uses; the silo registers it under this name.</summary>
public static class StorageNames
{
    /// <summary>Name of the grain storage provider: <c>[PersistentState("...", StorageNames.Provider)]</c>. Stored rows
    /// carry it, so it never changes.</summary>
    public const string Provider = "loom";
}
