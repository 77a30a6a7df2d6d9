namespace Loom.Storage.Migrations;

/// <summary>Where a database stands against this build's scripts.</summary>
/// <param name="CurrentVersion">Highest applied version (0 for an empty database).</param>
/// <param name="TargetVersion">Highest version this build ships.</param>
/// <param name="Pending">Scripts not applied yet, in order.</param>
/// <param name="Problems">Checksum mismatches or versions this build does not know: the migrator refuses to run.</param>
public sealed record SchemaStatus(
    int CurrentVersion,
    int TargetVersion,
    IReadOnlyList<MigrationScript> Pending,
    IReadOnlyList<string> Problems)
{
    public bool IsCurrent => Pending.Count == 0 && Problems.Count == 0;
}

/// <summary>The schema cannot be used or migrated as it is; the message tells the operator what to do.</summary>
public sealed class SchemaMigrationException(string message, Exception? inner = null) : Exception(message, inner);
