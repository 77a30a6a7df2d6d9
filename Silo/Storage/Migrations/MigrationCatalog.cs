using System.Reflection;
using System.Text.RegularExpressions;

namespace Loom.Storage.Migrations;

/// <summary>
/// The scripts shipped in this build: embedded resources <c>Storage/Sql/{provider}.{NNNN}_{name}.sql</c>
/// (flat, because the Silo project embeds <c>Storage\Sql\*.sql</c>).
/// </summary>
public static partial class MigrationCatalog
{
    private const string ResourceMarker = ".Storage.Sql.";

    public static IReadOnlyList<MigrationScript> For(StorageProviderKind kind)
    {
        var prefix = kind == StorageProviderKind.Sqlite ? "sqlite" : "postgres";
        var assembly = typeof(MigrationCatalog).Assembly;
        var scripts = new List<MigrationScript>();

        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var at = resource.IndexOf(ResourceMarker, StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }
            var match = ScriptName().Match(resource[(at + ResourceMarker.Length)..]);
            if (!match.Success || match.Groups["provider"].Value != prefix)
            {
                continue;
            }
            scripts.Add(new MigrationScript(
                int.Parse(match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                Read(assembly, resource)));
        }

        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < scripts.Count; i++)
        {
            // Versions are contiguous from 1: a gap means a script was lost from the build.
            if (scripts[i].Version != i + 1)
            {
                throw new InvalidOperationException(
                    $"{prefix} migration scripts must be numbered 0001, 0002, ... without gaps; found {scripts[i].Id}.");
            }
        }
        return scripts;
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded script '{resource}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^(?<provider>sqlite|postgres)\.(?<version>\d{4})_(?<name>[a-z0-9_]+)\.sql$")]
    private static partial Regex ScriptName();
}
