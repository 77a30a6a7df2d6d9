using System.Security.Cryptography;
using Loom.Security;
using Loom.Worlds;
using Microsoft.Extensions.Logging;

namespace Loom.Import;

/// <inheritdoc cref="IWorldPortGrain"/>
[StatelessWorker]
public sealed class WorldPortGrain(ILogger<WorldPortGrain> logger) : Grain, IWorldPortGrain
{
    public async Task<WorldImportResult> Import(Caller caller, byte[] data, string? worldId)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(data);
        if (worldId is not null && !WorldIds.IsValid(worldId))
            throw Errors.Problems.Invalid("worldId", "worldId must match [a-z0-9][a-z0-9-]{0,63}.");
        var imported = CardWorld.Import(data);

        var id = worldId ?? NewWorldId(imported.Title);
        var world = GrainFactory.GetGrain<IWorldGrain>(id);
        var files = imported.Files;
        int? basis = null;
        var existing = worldId is null ? null : await world.GetInfo(caller);
        if (existing is not null)
        {
            // A new version of the caller's world: what the import brings replaces its counterpart, the rest stays. The
            // publish names the version it merged into, so one that lands in between is not silently undone.
            var latest = await world.GetCanon(caller, null, includeFiles: true);
            basis = latest.Version;
            files = (latest.Files ?? [])
                .Where(f => !imported.Replaces(f.Key))
                .Concat(imported.Files.Where(f => !(imported.Kind == "lorebook" && f.Key == CardWorld.WorldFile)))
                .ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
        }

        var result = await world.Publish(caller, new CanonSubmission { Title = imported.Title, Files = files, BaseVersion = basis }, access: null);
        logger.LogInformation("Imported a {Kind} into world {WorldId} v{Version} ({Lore} lore entries) for {Owner}",
            imported.Kind, id, result.Canon.Version, imported.LoreEntries, caller.OwnerId);
        return new WorldImportResult
        {
            WorldId = id,
            Version = result.Canon.Version,
            Kind = imported.Kind,
            Title = result.Canon.Title,
            LoreEntries = imported.LoreEntries,
            Greetings = imported.Greetings,
            CreatedWorld = result.Created,
        };
    }

    public async Task<ExportedFile> Export(Caller caller, string worldId, int? version, string format)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!CardExport.Formats.Contains(format))
            throw Errors.Problems.Invalid("format", $"format must be one of {string.Join(", ", CardExport.Formats)}.");
        var canon = await GrainFactory.GetGrain<IWorldGrain>(worldId).GetCanon(caller, version, includeFiles: true);
        return CardExport.Export(canon, format);
    }

    /// <summary>The card's name as a slug with a random tail, so two imports of one card never collide.</summary>
    private static string NewWorldId(string title)
    {
        var slug = CardWorld.Slug(title, 48);
        return $"{(slug.Length > 0 && char.IsAsciiLetterOrDigit(slug[0]) ? slug : "card")}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
    }
}
