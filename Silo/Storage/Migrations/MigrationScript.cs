using System.Security.Cryptography;
using System.Text;

namespace Loom.Storage.Migrations;

/// <summary>One versioned schema script. The checksum covers the text with line endings normalised, so a
/// checkout with CRLF does not look like an edited script.</summary>
public sealed record MigrationScript(int Version, string Name, string Sql)
{
    // Computed from Sql on each use (not stored) so that `with { Sql = ... }` copies cannot carry a stale checksum.
    public string Checksum => ComputeChecksum(Sql);

    /// <summary>"0002_reminders": how the script is named in messages and in loom_schema_migrations.</summary>
    public string Id => $"{Version:D4}_{Name}";

    public static string ComputeChecksum(string sql)
    {
        var normalised = sql.TrimStart('\uFEFF').Replace("\r\n", "\n", StringComparison.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));
    }
}
