using System.Security.Cryptography;
using System.Text;
using Loom.Canon;
using Loom.Errors;
using Loom.Quotas;
using Loom.Security;
using Loom.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Worlds;

/// <summary>One world (key: worldId) and its immutable canon versions 1, 2, ...; see <see cref="WorldAccess"/> for who may do what.</summary>
public sealed class WorldGrain(
    [PersistentState(WorldState.StateName, StorageNames.Provider)] IPersistentState<WorldState> state,
    IOptions<QuotaOptions> quotas,
    ILogger<WorldGrain> logger) : Grain, IWorldGrain, IIncomingGrainCallFilter, IMayHoldNothing
{
    // Materialised versions (sections with text), built on first read; versions never change once stored.
    private readonly Dictionary<int, CanonVersion> _summaries = [];
    private readonly Dictionary<int, CanonVersion> _withFiles = [];
    // Diffs of large canons cost seconds (Myers on tens of thousands of lines); keep the last few.
    private readonly Dictionary<(int From, int To), CanonDiff> _diffs = [];
    private const int MaxCachedDiffs = 16;

    private string WorldId => this.GetPrimaryKeyString();
    private bool Exists => state.State.Versions.Count > 0;
    private string Owner => state.State.Owner ?? Caller.SystemOwner;

    /// <summary>A world that does not exist (a probed id, a first publish refused) holds nothing.</summary>
    public Task Invoke(IIncomingGrainCallContext context) => EmptyActivations.InvokeAsync(context, this);

    bool IMayHoldNothing.HoldsNothing => !Exists;

    public async Task<PublishResult> Publish(Caller caller, CanonSubmission submission, WorldAccessChange? access)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!WorldIds.IsValid(WorldId))
        {
            throw Problems.Invalid("worldId", "worldId must match [a-z0-9][a-z0-9-]{0,63}.");
        }

        // Access before content: a stranger learns nothing about a private world, not even that its canon is invalid.
        if (Exists) RequireManage(caller);
        var shares = access?.SharedWith is { } list ? WorldAccess.NormalizeShares(list) : null;

        var parsed = CanonParser.Parse(submission);
        var validation = parsed.Validation;
        if (!validation.Valid)
        {
            throw Problems.Unprocessable("invalid_canon",
                $"The canon has {validation.Errors.Count} error(s); nothing was stored.", ToProblemErrors(validation.Errors));
        }

        if (!Exists) await RequireWorldQuotaAsync(caller);
        if (submission.BaseVersion is { } basis && state.State.Versions.Count > 0 && state.State.Versions[^1].Version != basis)
        {
            throw Problems.Conflict("canon_changed",
                $"World '{WorldId}' has version {state.State.Versions[^1].Version} now, published after version {basis} that this change was built on; nothing was stored. Send it again.");
        }

        var files = submission.Files.ToDictionary(f => f.Key, f => CanonText.NormalizeNewlines(f.Value ?? ""), StringComparer.Ordinal);
        var hash = CanonHasher.Compute(files);
        var versions = state.State.Versions;
        if (versions.Count > 0 && versions[^1].Hash == hash)
        {
            if (access is { IsEmpty: false }) await ApplyAccessAsync(access.Visibility, shares);
            // Re-upsert so a catalog update lost after an earlier write is repaired by simply publishing again.
            await UpsertCatalog();
            return new PublishResult { Canon = Summary(versions[^1]), Created = false };
        }

        var stored = new StoredCanonVersion
        {
            Version = versions.Count + 1,
            Hash = hash,
            Title = validation.Title ?? WorldId,
            Metadata = validation.Metadata,
            Warnings = validation.Warnings,
            CreatedAt = DateTime.UtcNow,
        };

        var newBlobs = new List<string>();
        foreach (var (name, text) in files)
        {
            var key = BlobKey(text);
            stored.Files[name] = key;
            if (state.State.Blobs.TryAdd(key, text))
            {
                newBlobs.Add(key);
            }
        }

        for (var i = 0; i < validation.Sections.Count; i++)
        {
            var section = validation.Sections[i];
            var span = parsed.Spans[i];
            stored.Sections.Add(new StoredSection
            {
                Name = section.Name, Type = section.Type, File = section.File, Line = section.Line,
                Start = span.Start, Length = span.Length,
            });
        }

        var before = (state.State.Owner, state.State.Visibility, state.State.SharedWith);
        if (stored.Version == 1) state.State.Owner = caller.OwnerId;
        if (access?.Visibility is { } visibility) state.State.Visibility = visibility;
        if (shares is not null) state.State.SharedWith = shares;
        versions.Add(stored);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Leave memory as storage has it: a failed publish must not be visible to later reads.
            versions.RemoveAt(versions.Count - 1);
            newBlobs.ForEach(key => state.State.Blobs.Remove(key));
            (state.State.Owner, state.State.Visibility, state.State.SharedWith) = before;
            throw;
        }

        logger.LogInformation("World {WorldId} published canon v{Version} ({Hash}, {Files} files, {Sections} sections) by {Owner}",
            WorldId, stored.Version, hash, files.Count, stored.Sections.Count, caller.OwnerId);

        await UpsertCatalog();
        return new PublishResult { Canon = Summary(stored), Created = stored.Version == 1 };
    }

    public async Task<WorldInfo> SetAccess(Caller caller, WorldAccessChange change)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(change);
        RequireManage(caller);
        var shares = change.SharedWith is { } list ? WorldAccess.NormalizeShares(list) : null;
        if (!change.IsEmpty) await ApplyAccessAsync(change.Visibility, shares);
        await UpsertCatalog();
        return Info();
    }

    public Task<WorldInfo?> GetInfo(Caller caller) =>
        Task.FromResult(Exists && CanSee(caller) ? WorldAccess.ForCaller(Info(), caller) : null);

    public Task<CanonVersion> GetCanon(Caller caller, int? version, bool includeFiles)
    {
        CanonVersions.RequireWellFormed(version, "version");
        RequireSee(caller);
        var stored = Find(version);
        return Task.FromResult(includeFiles ? WithFiles(stored) : Summary(stored));
    }

    public Task<CanonVersion> GetPinnedCanon(int version, bool includeFiles)
    {
        var stored = Find(version);
        return Task.FromResult(includeFiles ? WithFiles(stored) : Summary(stored));
    }

    public Task<CanonDiff> Diff(Caller caller, int from, int to)
    {
        CanonVersions.RequireWellFormed(from, "from");
        CanonVersions.RequireWellFormed(to, "to");
        RequireSee(caller);
        var a = Find(from);
        var b = Find(to);
        if (!_diffs.TryGetValue((from, to), out var diff))
        {
            diff = new CanonDiff { From = from, To = to, Files = CanonDiffer.Diff(FileTexts(a), FileTexts(b)) };
            if (_diffs.Count >= MaxCachedDiffs)
            {
                _diffs.Clear();
            }

            _diffs[(from, to)] = diff;
        }

        return Task.FromResult(diff);
    }

    private bool CanSee(Caller caller) => WorldAccess.CanSee(Owner, state.State.Visibility, state.State.SharedWith, caller);

    /// <summary>404 exactly as for an unknown world when the caller may not see it.</summary>
    private void RequireSee(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!Exists || !CanSee(caller)) throw Problems.NotFound("World", WorldId);
    }

    /// <summary>404 when the caller may not see the world, 403 when they may see but not change it.</summary>
    private void RequireManage(Caller caller)
    {
        RequireSee(caller);
        if (!WorldAccess.CanManage(Owner, caller))
        {
            throw Problems.NotPermitted(
                Owner == Caller.SystemOwner
                    ? $"World '{WorldId}' belongs to the system; only admins can change it. Publish your own copy under another world id."
                    : $"World '{WorldId}' belongs to another owner; only its owner or an admin can change it.");
        }
    }

    private async Task RequireWorldQuotaAsync(Caller caller)
    {
        if (quotas.Value.MaxWorlds is not { } max || caller.OwnerId == Caller.SystemOwner) return;
        var owned = await GrainFactory.GetGrain<IWorldCatalogGrain>(0).ReserveNew(caller.OwnerId, WorldId, max);
        if (owned >= max)
        {
            throw QuotaCodes.Exceeded(QuotaCodes.Worlds, $"Owner '{caller.OwnerId}' already owns {owned} world(s); the quota is {max}.");
        }
    }

    private async Task ApplyAccessAsync(WorldVisibility? visibility, List<string>? shares)
    {
        var before = (state.State.Visibility, state.State.SharedWith, state.State.AccessChangedAt);
        if (visibility is { } v) state.State.Visibility = v;
        if (shares is not null) state.State.SharedWith = shares;
        if (state.State.Visibility == before.Visibility && state.State.SharedWith.SequenceEqual(before.SharedWith, StringComparer.Ordinal)) return;
        state.State.AccessChangedAt = DateTime.UtcNow;
        // A legacy world gets its implicit owner written down with its first access change.
        state.State.Owner ??= Caller.SystemOwner;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            (state.State.Visibility, state.State.SharedWith, state.State.AccessChangedAt) = before;
            throw;
        }
        logger.LogInformation("World {WorldId} is now {Visibility}, shared with {Shares} owner(s)",
            WorldId, state.State.Visibility, state.State.SharedWith.Count);
    }

    private StoredCanonVersion Find(int? version)
    {
        var versions = state.State.Versions;
        if (versions.Count == 0)
        {
            throw Problems.NotFound("World", WorldId);
        }

        if (version is null)
        {
            return versions[^1];
        }

        // Versions are 1..n with no gaps, so the number is the index.
        if (version < 1 || version > versions.Count)
        {
            throw Problems.NotFound("Canon version", $"{WorldId} v{version}");
        }

        return versions[version.Value - 1];
    }

    private WorldInfo Info()
    {
        var versions = state.State.Versions;
        return new WorldInfo
        {
            WorldId = WorldId,
            Title = versions[^1].Title,
            LatestVersion = versions[^1].Version,
            Versions = versions.Select(v => new WorldVersionRef { Version = v.Version, CreatedAt = v.CreatedAt, Hash = v.Hash }).ToList(),
            UpdatedAt = state.State.AccessChangedAt is { } changed && changed > versions[^1].CreatedAt ? changed : versions[^1].CreatedAt,
            Owner = Owner,
            Visibility = state.State.Visibility,
            SharedWith = [.. state.State.SharedWith],
        };
    }

    private Task UpsertCatalog() => GrainFactory.GetGrain<IWorldCatalogGrain>(0).Upsert(Info());

    private CanonVersion Summary(StoredCanonVersion stored)
    {
        if (!_summaries.TryGetValue(stored.Version, out var canon))
        {
            canon = CanonVersions.Summary(WorldId, state.State, stored);
            _summaries[stored.Version] = canon;
        }

        return canon;
    }

    private CanonVersion WithFiles(StoredCanonVersion stored)
    {
        if (!_withFiles.TryGetValue(stored.Version, out var canon))
        {
            canon = Summary(stored) with { Files = FileTexts(stored) };
            _withFiles[stored.Version] = canon;
        }

        return canon;
    }

    private Dictionary<string, string> FileTexts(StoredCanonVersion stored) => CanonVersions.FileTexts(state.State, stored);

    private static string BlobKey(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>API validation errors: "files/&lt;name&gt;" for an issue in a file, "canon" for the whole canon.</summary>
    internal static Dictionary<string, string[]> ToProblemErrors(IEnumerable<CanonIssue> issues) =>
        issues
            .GroupBy(i => i.File is null ? "canon" : "files/" + i.File, StringComparer.Ordinal)
            .ToDictionary(
                g => g.Key,
                g => g.Select(i => i.Line is { } line ? $"line {line}: {i.Message} [{i.Code}]" : $"{i.Message} [{i.Code}]").ToArray(),
                StringComparer.Ordinal);
}
