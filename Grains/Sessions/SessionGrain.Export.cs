using System.Globalization;
using Loom.Errors;
using Loom.Memory;
using Loom.Security;
using Loom.Timeline;
using Loom.Turns;
using Loom.Worlds;

namespace Loom.Sessions;

/// <summary>
/// Export and import. An export holds committed turns only (queued or running ones are left out, as is any
/// memory change they made so far), every entity with its whole history, the audit log and the timeline
/// bookkeeping, so an import recreates the session exactly: same turn ids, seqs and statuses, same memory.
/// </summary>
public sealed partial class SessionGrain
{
    public async Task<SessionExport> Export(string ownerId)
    {
        Require(ownerId);
        var committed = CommittedSeq;
        var memory = await MemoryAsync();
        // Snapshot now (synchronously): a running turn may change memory at the next await.
        var entities = ExportMemory(memory, committed);
        var floor = memory.FloorSeq;
        var header = Info();
        var timeline = new ExportedTimeline
        {
            LastSeq = committed,
            NextOrdinal = S.Pending.Count > 0 ? S.Pending[0].Ordinal : S.NextOrdinal,
            Segments = S.Segments.Select(s => new ExportedSegment { StartSeq = s.StartSeq, StartOrdinal = s.StartOrdinal }).ToList(),
            Tones = [.. S.Tones],
            Policy = S.Policy,
            MemoryFloorSeq = floor,
            Opening = S.Opening, // greetings (issue 13)
        };
        // Pending turns sit after every committed one, so the committed journal is [0, timeline.NextOrdinal).
        var turns = (await CommittedJournalAsync(timeline.NextOrdinal)).Select(Present).ToList();
        if (turns.Count < timeline.NextOrdinal)
        {
            // The header claims more than the journal holds (a session imported before imports were checked):
            // export what is there rather than walk the claim.
            timeline = timeline with { NextOrdinal = turns.Count };
        }
        return new SessionExport
        {
            Session = header with { PendingTurns = 0 },
            Canon = new CanonRef { WorldId = S.WorldId, Version = S.CanonVersion, Hash = S.CanonHash },
            Turns = turns,
            Memory = entities,
            Audit = await AllAuditAsync(),
            Timeline = timeline,
            Llm = S.Llm,
        };
    }

    /// <summary>Entities as of <paramref name="committedSeq"/>, each with its history (leading deletions dropped, as rollback does).</summary>
    private static List<ExportedEntity> ExportMemory(WorldMemory memory, int committedSeq)
    {
        var result = new List<ExportedEntity>();
        foreach (var (id, _, revisions) in memory.AllWithHistory())
        {
            var history = revisions.Where(r => r.Seq <= committedSeq).SkipWhile(r => r.Value is null)
                .Select(r => new ExportedRevision { Seq = r.Seq, Value = r.Value }).ToList();
            if (history.Count == 0) continue;
            result.Add(new ExportedEntity { EntityId = id, Current = history[^1].Value, History = history });
        }
        return result;
    }

    public async Task<SessionInfo> Import(string ownerId, SessionExport export)
    {
        if (S.Exists) throw Problems.Conflict("session_exists", $"Session '{SessionId}' already exists.");
        ArgumentNullException.ThrowIfNull(export);
        if (export.Format != SessionExport.FormatV1)
            throw Problems.Invalid("format", $"format must be \"{SessionExport.FormatV1}\".");
        if (export.Session is null || export.Canon is null || export.Timeline is null)
            throw Problems.Invalid("session", "session, canon and timeline are required.");
        // Counters and sizes against the export's own content first: linear in the body, before any storage call.
        ImportGuard.Check(export, new ImportLimits
        {
            MaxInputChars = _options.MaxInputChars,
            MaxContentChars = Math.Max(MemoryOptions.MaxContentChars, MemoryOptions.MaxSummaryChars),
            MaxNameChars = MemoryOptions.MaxNameChars,
            MaxAttributes = MemoryOptions.MaxAttributes,
        });

        // The importer must be able to play the world (404 like an unknown world otherwise).
        var canon = await GrainFactory.GetGrain<IWorldGrain>(export.Canon.WorldId)
            .GetCanon(new Caller { OwnerId = ownerId }, export.Canon.Version, includeFiles: false);
        if (canon.Version != export.Canon.Version || canon.Hash != export.Canon.Hash)
            throw Problems.Unprocessable("canon_mismatch",
                $"World '{export.Canon.WorldId}' version {export.Canon.Version} has hash {canon.Hash}, not {export.Canon.Hash}; publish the same canon first.",
                new() { ["canon.hash"] = ["does not match the stored canon version"] });

        var timeline = export.Timeline;
        var records = ImportTurns(export.Turns ?? [], timeline);
        await CheckCreateQuotaAsync(ownerId);
        var shards = ImportMemory(export.Memory ?? [], timeline);
        var llm = export.Llm ?? new LlmSettings { Provider = export.Session.Llm?.Provider, Model = export.Session.Llm?.Model };
        var seed = new SessionSeed
        {
            OwnerId = ownerId,
            Name = string.IsNullOrWhiteSpace(export.Session.Name) ? "Imported session" : Truncate(export.Session.Name.Trim(), 200),
            Canon = export.Canon,
            Llm = _llm.Resolve(llm),
            Usage = export.Session.Usage ?? Usage.Zero,
            Turns = records,
            MemoryShards = shards,
            Audit = export.Audit ?? [],
            Timeline = timeline,
            Status = export.Session.Status == SessionStatus.Archived ? SessionStatus.Archived : export.Session.Status,
            CreatedAt = export.Session.CreatedAt == default ? DateTime.UtcNow : export.Session.CreatedAt,
            ForkedFrom = export.Session.ForkedFrom,
        };
        var creation = new AuditEntry
        {
            At = DateTime.UtcNow,
            Actor = ownerId,
            Action = "import",
            Seq = timeline.LastSeq,
            Details = new(StringComparer.Ordinal)
            {
                ["sourceSessionId"] = export.Session.SessionId ?? "",
                ["turns"] = records.Count.ToString(CultureInfo.InvariantCulture),
                ["entities"] = (export.Memory?.Count ?? 0).ToString(CultureInfo.InvariantCulture),
            },
        };
        return await Restore(seed, creation);
    }

    /// <summary>Turns at the journal positions their ids carry; the live timeline must be complete and consistent.</summary>
    private static List<TurnRecord> ImportTurns(List<TurnView> turns, ExportedTimeline timeline)
    {
        if (timeline.LastSeq < 0 || timeline.NextOrdinal < 0)
            throw Problems.Invalid("timeline", "timeline.lastSeq and timeline.nextOrdinal must not be negative.");
        if (timeline.Segments is not { Count: > 0 } || timeline.Segments[0].StartSeq != 1 || timeline.Segments[0].StartOrdinal != 0
            || timeline.Segments.Any(s => s.StartSeq < 1 || s.StartOrdinal < 0 || s.StartOrdinal > timeline.NextOrdinal)
            || timeline.Segments.Zip(timeline.Segments.Skip(1)).Any(p => p.Second.StartOrdinal < p.First.StartOrdinal))
            throw Problems.Invalid("timeline.segments", "timeline.segments must start at seq 1, ordinal 0, with ordinals never decreasing.");

        var records = new List<TurnRecord>(turns.Count);
        var seen = new HashSet<long>();
        for (var i = 0; i < turns.Count; i++)
        {
            var turn = turns[i];
            if (turn?.TurnId is null || !TurnIds.TryGetOrdinal(turn.TurnId, out var ordinal) || ordinal >= timeline.NextOrdinal || !seen.Add(ordinal))
                throw Problems.Invalid($"turns[{i}].turnId", "each turn needs a unique turnId from this export.");
            if (turn.Status is TurnStatus.Queued or TurnStatus.Running || turn.Seq < 1 || turn.Input is null)
                throw Problems.Invalid($"turns[{i}]", "only finished turns with a seq of 1 or more can be imported.");
            records.Add(new TurnRecord { Ordinal = ordinal, Turn = turn with { Interventions = turn.Interventions ?? [], MemoryUpdates = turn.MemoryUpdates ?? [] } });
        }
        var bySeqOrdinal = records.ToDictionary(r => r.Ordinal);
        for (var seq = 1; seq <= timeline.LastSeq; seq++)
        {
            var segment = timeline.Segments.Last(s => s.StartSeq <= seq);
            var ordinal = segment.StartOrdinal + (seq - segment.StartSeq);
            if (!bySeqOrdinal.TryGetValue(ordinal, out var record) || record.Turn.Seq != seq || record.Turn.Status == TurnStatus.Retconned)
                throw Problems.Invalid("turns", $"the live timeline has no finished turn {seq} where the segments place it.");
        }
        return records;
    }

    /// <summary>Rebuilds memory shards from exported histories (vectors are recomputed on first use).</summary>
    private List<MemoryShard> ImportMemory(List<ExportedEntity> entities, ExportedTimeline timeline)
    {
        var count = MemoryOptions.ShardCount;
        var shards = Enumerable.Range(0, count)
            .Select(i => new MemoryShard { Index = i, ShardCount = count, FloorSeq = timeline.MemoryFloorSeq })
            .ToList();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < entities.Count; i++)
        {
            var entity = entities[i];
            var history = entity?.History;
            if (entity?.EntityId is null || !EntityIds.TryParse(entity.EntityId, out _) || !ids.Add(entity.EntityId)
                || history is not { Count: > 0 }
                || history.Zip(history.Skip(1)).Any(p => p.Second.Seq <= p.First.Seq)
                || history.Any(r => r.Value is not null && r.Value.EntityId != entity.EntityId))
                throw Problems.Invalid($"memory[{i}]", "each entity needs a valid unique entityId and a history in increasing seq order.");
            shards[WorldMemory.ShardOf(entity.EntityId, count)].Entities.Add(new StoredEntity
            {
                EntityId = entity.EntityId,
                Revisions = history.Select(r => new EntityRevision { Seq = r.Seq, Value = r.Value }).ToList(),
            });
        }
        return shards.Where(s => s.Entities.Count > 0).ToList();
    }
}
