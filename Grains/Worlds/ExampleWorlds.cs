using System.Reflection;
using Loom.Canon;
using Loom.Security;

namespace Loom.Worlds;

/// <summary>The bundled example canons (embedded resources "loom-examples/&lt;worldId&gt;/&lt;file&gt;.md").</summary>
public static class ExampleWorlds
{
    private const string Prefix = "loom-examples/";

    private static readonly Lazy<IReadOnlyList<(string WorldId, CanonSubmission Canon)>> Loaded = new(Load);

    /// <summary>Each example world id with its canon files, ordered by world id.</summary>
    public static IReadOnlyList<(string WorldId, CanonSubmission Canon)> All => Loaded.Value;

    /// <summary>
    /// Publishes every example world that does not exist yet, owned by <see cref="Caller.SystemOwner"/> and public. Worlds already present are left alone, so an
    /// author's own edits to an example survive restarts; seeding is idempotent and safe from every silo.
    /// </summary>
    public static async Task SeedAsync(IGrainFactory grains, CancellationToken ct)
    {
        foreach (var (worldId, canon) in All)
        {
            ct.ThrowIfCancellationRequested();
            var world = grains.GetGrain<IWorldGrain>(worldId);
            if (await world.GetInfo(System) is null)
            {
                await world.Publish(System, canon, access: null);
            }
        }
    }

    /// <summary>The examples' publisher: they belong to the system, are public, and only admins may change them.</summary>
    public static Caller System { get; } = new() { OwnerId = Caller.SystemOwner, Roles = [LoomRoles.Admin] };

    private static IReadOnlyList<(string, CanonSubmission)> Load()
    {
        var assembly = typeof(ExampleWorlds).Assembly;
        var byWorld = new SortedDictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            // RecursiveDir uses the build machine's separator.
            var name = resource.Replace('\\', '/');
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var parts = name[Prefix.Length..].Split('/');
            if (parts.Length != 2)
            {
                continue;
            }

            if (!byWorld.TryGetValue(parts[0], out var files))
            {
                byWorld[parts[0]] = files = new Dictionary<string, string>(StringComparer.Ordinal);
            }

            files[parts[1]] = Read(assembly, resource);
        }

        return byWorld.Select(w => (w.Key, new CanonSubmission { Files = w.Value })).ToList();
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded example canon '{resource}' is missing.");
        using var reader = new StreamReader(stream);
        return CanonText.NormalizeNewlines(reader.ReadToEnd());
    }
}
