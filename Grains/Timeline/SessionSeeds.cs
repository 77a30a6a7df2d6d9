using System.Globalization;
using Loom.Errors;
using Loom.Interventions;
using Loom.Memory;
using Loom.Quotas;
using Loom.Sessions;
using Loom.Text;
using Loom.Turns;
using Loom.Worlds;

namespace Loom.Timeline;

/// <summary>
/// How a new session is seeded from another (a fork) or from an export (an import), and the header it starts
/// with. An export holds committed turns only (queued or running ones are left out, as is any memory change they
/// made so far), every entity with its whole history, the audit log and the timeline bookkeeping, so an import
/// recreates the session exactly: same turn ids, seqs and statuses, same memory.
/// </summary>
public static class SessionSeeds
{
    public const int MaxNameChars = 200;

    /// <summary>
    /// A session name as a caller gave it, trimmed: one line of at most 200 characters without control characters
    /// (a NUL or a line break in a name breaks lists, logs and exports), else 400. Null or empty means "no name given",
    /// which create and fork fill in and a PATCH refuses (<paramref name="required"/>).
    /// </summary>
    public static string? CheckName(string? name, bool required = false)
    {
        var trimmed = name?.Trim();
        if (string.IsNullOrEmpty(trimmed) ? required && name is not null : trimmed.Length > MaxNameChars || trimmed.Any(char.IsControl))
        {
            throw Problems.Invalid("name", $"name must be 1 to {MaxNameChars} characters, without control characters.");
        }
        return string.IsNullOrEmpty(trimmed) ? null : trimmed;
    }

    /// <summary>A rollback or fork reason: trimmed, null when blank, refused (400) when too long.</summary>
    public static string? CheckReason(string? reason)
    {
        if (reason is { Length: > TimelineLimits.MaxReasonChars })
            throw Problems.Invalid("reason", $"reason must be at most {TimelineLimits.MaxReasonChars} characters.");
        return string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
    }

    // ---------------------------------------------------------------- create

    /// <summary>The header of a brand-new session of <paramref name="canon"/> (refused with 400 on a bad name or policy).</summary>
    public static SessionState New(SessionSpec spec, CanonVersion canon, LlmSettings llm)
    {
        var name = CheckName(spec.Name);
        EffectivePolicy.Validate(spec.Policy);
        var now = DateTime.UtcNow;
        return new SessionState
        {
            Exists = true,
            OwnerId = spec.OwnerId,
            Name = string.IsNullOrEmpty(name) ? $"{canon.Title} — {now:yyyy-MM-dd HH:mm}" : name,
            WorldId = spec.WorldId,
            CanonVersion = canon.Version,
            CanonHash = canon.Hash,
            Status = SessionStatus.Active,
            CreatedAt = now,
            UpdatedAt = now,
            Llm = llm,
            Segments = [new TimelineSegment { StartSeq = 1, StartOrdinal = 0 }],
            Policy = spec.Policy,
            MemoryUnwritten = true,
        };
    }

    // ---------------------------------------------------------------- rollback and fork

    /// <summary>A rollback is a retcon: refused (403) when retcons are off, (400) without a required justification, and
    /// (409) while turns are queued or running.</summary>
    public static void CheckRollback(SessionState s, EffectivePolicy policy, string? reason)
    {
        if (!policy.RetconAllowed)
            throw Problems.Forbidden("retcon_not_allowed", "Rollbacks are retcons, and retcons are not allowed in this session.");
        if (policy.JustificationProblem(reason) is { } why) throw Problems.Invalid("reason", $"reason: {why}.");
        if (s.Pending.Count > 0)
            throw Problems.Conflict("turns_pending",
                $"{s.Pending.Count} turn(s) are queued or running; roll back once they have finished.");
    }

    /// <summary>A fork's reason and name, checked; it may start only at a committed turn (409 otherwise).</summary>
    public static (string? Reason, string? Name) CheckFork(SessionState s, ForkRequest request)
    {
        var reason = CheckReason(request.Reason);
        var name = CheckName(request.Name);
        var atSeq = request.AtSeq;
        if (atSeq < 0 || atSeq > s.LastSeq) throw Problems.Invalid("atSeq", $"atSeq must be between 0 and {s.LastSeq}.");
        var committed = s.CommittedSeq();
        if (atSeq > committed)
            throw Problems.Conflict("turn_not_committed", $"Turn {atSeq} has not finished yet; fork at or before turn {committed}, or wait.");
        return (reason, name);
    }

    /// <summary>A fork at <paramref name="atSeq"/>: the live turns up to it, packed at ordinals 0..atSeq-1 under new ids.</summary>
    public static SessionSeed Fork(SessionState s, string sessionId, int atSeq, List<TurnRecord> live, WorldMemory copy, string? name)
    {
        var turns = live.Select((r, i) => new TurnRecord { Ordinal = i, Turn = r.Turn with { TurnId = TurnIds.New(i) } }).ToList();
        return new SessionSeed
        {
            OwnerId = s.OwnerId,
            Name = string.IsNullOrEmpty(name) ? TextClip.Clip($"{s.Name} (fork at turn {atSeq})", MaxNameChars) : name,
            Canon = new CanonRef { WorldId = s.WorldId, Version = s.CanonVersion, Hash = s.CanonHash },
            Llm = s.Llm,
            Usage = turns.Aggregate(Usage.Zero, (sum, t) => sum.Add(t.Turn.Usage)),
            Turns = turns,
            MemoryShards = copy.AllShards().Where(x => x.Entities.Count > 0).ToList(),
            Timeline = new ExportedTimeline
            {
                LastSeq = atSeq,
                NextOrdinal = atSeq,
                Segments = [new ExportedSegment { StartSeq = 1, StartOrdinal = 0 }],
                Tones = s.Tones.Where(t => t.Seq <= atSeq).ToList(),
                Policy = s.Policy,
                MemoryFloorSeq = copy.FloorSeq,
                Opening = s.Opening, // greetings (issue 13)
            },
            CreatedAt = DateTime.UtcNow,
            ForkedFrom = $"{sessionId}@{atSeq}",
        };
    }

    /// <summary>Audit details of a fork (written in both sessions' logs).</summary>
    public static Dictionary<string, string> ForkDetails(string sourceSessionId, string forkSessionId, SessionSeed seed) => new(StringComparer.Ordinal)
    {
        ["sourceSessionId"] = sourceSessionId,
        ["forkSessionId"] = forkSessionId,
        ["atSeq"] = seed.Timeline.LastSeq.ToString(CultureInfo.InvariantCulture),
        ["turnsCopied"] = seed.Turns.Count.ToString(CultureInfo.InvariantCulture),
        ["entitiesCopied"] = seed.MemoryShards.Sum(s => s.Entities.Count).ToString(CultureInfo.InvariantCulture),
    };

    // ---------------------------------------------------------------- restore

    /// <summary>The header of a session restored from <paramref name="seed"/>.</summary>
    public static SessionState StateOf(SessionSeed seed, int shardCount)
    {
        var timeline = seed.Timeline;
        var live = seed.Turns.Where(r => IsLive(r, timeline)).Select(r => r.Turn).ToList();
        return new SessionState
        {
            Exists = true,
            OwnerId = seed.OwnerId,
            Name = seed.Name,
            WorldId = seed.Canon.WorldId,
            CanonVersion = seed.Canon.Version,
            CanonHash = seed.Canon.Hash,
            Status = seed.Status,
            CreatedAt = seed.CreatedAt,
            UpdatedAt = DateTime.UtcNow,
            LastTurnAt = live.Where(t => t.CompletedAt is not null).Select(t => t.CompletedAt).Max(),
            Llm = seed.Llm,
            Usage = seed.Usage,
            LastSeq = timeline.LastSeq,
            TurnCount = live.Count(t => t.Status == TurnStatus.Completed),
            NextOrdinal = timeline.NextOrdinal,
            Segments = timeline.Segments.Select(x => new TimelineSegment { StartSeq = x.StartSeq, StartOrdinal = x.StartOrdinal }).ToList(),
            Tones = [.. timeline.Tones ?? []],
            Policy = timeline.Policy,
            MemoryShards = shardCount,
            ForkedFrom = seed.ForkedFrom,
            Opening = timeline.Opening, // greetings (issue 13)
            StoredBytes = seed.Turns.Sum(r => SessionTenancy.StoredBytesOf(r.Turn)),
        };
    }

    private static bool IsLive(TurnRecord record, ExportedTimeline timeline)
    {
        var seq = record.Turn.Seq;
        if (seq < 1 || seq > timeline.LastSeq) return false;
        var segment = timeline.Segments.Last(s => s.StartSeq <= seq);
        return segment.StartOrdinal + (seq - segment.StartSeq) == record.Ordinal;
    }

    // ---------------------------------------------------------------- export

    /// <summary>
    /// A session's export: its committed turns, its memory as of the last committed turn, its audit log and timeline.
    /// Memory is snapshot synchronously once loaded (a running turn may change it at the next await).
    /// </summary>
    public static async Task<SessionExport> ExportAsync(SessionState s, string sessionId, TurnJournal journal, SessionMemoryStore memoryStore,
        SessionAuditLog audit)
    {
        var committed = s.CommittedSeq();
        var memory = await memoryStore.GetAsync();
        var entities = ExportMemory(memory, committed);
        var info = s.ToInfo(sessionId);
        var timeline = ExportTimeline(s, committed, memory.FloorSeq);
        // Pending turns sit after every committed one, so the committed journal is [0, timeline.NextOrdinal).
        var turns = (await journal.CommittedAsync(timeline.NextOrdinal)).Select(journal.Present).ToList();
        if (turns.Count < timeline.NextOrdinal)
        {
            // The header claims more than the journal holds (a session imported before imports were checked):
            // export what is there rather than walk the claim.
            timeline = timeline with { NextOrdinal = turns.Count };
        }
        return new SessionExport
        {
            Session = info with { PendingTurns = 0 },
            Canon = new CanonRef { WorldId = s.WorldId, Version = s.CanonVersion, Hash = s.CanonHash },
            Turns = turns,
            Memory = entities,
            Audit = await audit.AllAsync(),
            Timeline = timeline,
            Llm = s.Llm,
        };
    }

    /// <summary>The timeline an export carries: committed turns only, so it ends before the first pending one.</summary>
    public static ExportedTimeline ExportTimeline(SessionState s, int committedSeq, int memoryFloorSeq) => new()
    {
        LastSeq = committedSeq,
        NextOrdinal = s.Pending.Count > 0 ? s.Pending[0].Ordinal : s.NextOrdinal,
        Segments = TimelineSegments.Unshadowed(s.Segments, x => x.StartSeq).Select(x => new ExportedSegment { StartSeq = x.StartSeq, StartOrdinal = x.StartOrdinal }).ToList(),
        Tones = [.. s.Tones],
        Policy = s.Policy,
        MemoryFloorSeq = memoryFloorSeq,
        Opening = s.Opening, // greetings (issue 13)
    };

    /// <summary>Entities as of <paramref name="committedSeq"/>, each with its history (leading deletions dropped, as rollback does).</summary>
    public static List<ExportedEntity> ExportMemory(WorldMemory memory, int committedSeq)
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

    // ---------------------------------------------------------------- import

    /// <summary>The sizes an import is checked against: what a session of this engine could have produced.</summary>
    public static ImportLimits ImportLimits(TurnOptions turns, MemoryOptions memory) => new()
    {
        MaxInputChars = turns.MaxInputChars,
        MaxContentChars = Math.Max(memory.MaxContentChars, memory.MaxSummaryChars),
        MaxNameChars = memory.MaxNameChars,
        MaxAttributes = memory.MaxAttributes,
    };

    /// <summary>An exported name kept as far as <see cref="CheckName"/> allows: control characters become spaces, then trimmed and cut.</summary>
    private static string ImportedName(string? name)
    {
        var line = name is null ? "" : string.Concat(name.Select(c => char.IsControl(c) ? ' ' : c)).Trim();
        return line.Length == 0 ? "Imported session" : TextClip.Clip(line, MaxNameChars).Trim();
    }

    /// <summary>The seed of an imported session (turns and shards already checked), owned by the importer.</summary>
    public static SessionSeed Import(string ownerId, SessionExport export, List<TurnRecord> records, List<MemoryShard> shards, LlmSettings llm) => new()
    {
        OwnerId = ownerId,
        Name = ImportedName(export.Session.Name),
        Canon = export.Canon!,
        Llm = llm,
        Usage = export.Session.Usage ?? Usage.Zero,
        Turns = records,
        MemoryShards = shards,
        Audit = export.Audit ?? [],
        Timeline = export.Timeline!,
        Status = export.Session.Status == SessionStatus.Archived ? SessionStatus.Archived : export.Session.Status,
        CreatedAt = export.Session.CreatedAt == default ? DateTime.UtcNow : export.Session.CreatedAt,
        ForkedFrom = export.Session.ForkedFrom,
    };

    /// <summary>The audit entry that opens an imported session's log.</summary>
    public static AuditEntry ImportAudit(string ownerId, SessionExport export, int turns) => new()
    {
        At = DateTime.UtcNow,
        Actor = ownerId,
        Action = "import",
        Seq = export.Timeline!.LastSeq,
        Details = new(StringComparer.Ordinal)
        {
            ["sourceSessionId"] = export.Session.SessionId ?? "",
            ["turns"] = turns.ToString(CultureInfo.InvariantCulture),
            ["entities"] = (export.Memory?.Count ?? 0).ToString(CultureInfo.InvariantCulture),
        },
    };

    /// <summary>Turns at the journal positions their ids carry; the live timeline must be complete and consistent.</summary>
    public static List<TurnRecord> ImportTurns(List<TurnView> turns, ExportedTimeline timeline)
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
            records.Add(new TurnRecord
            {
                Ordinal = ordinal,
                Turn = turn with { Interventions = turn.Interventions ?? [], MemoryUpdates = turn.MemoryUpdates ?? [], Alternatives = null },
                Alternatives = ImportAlternatives(turn, i),
            });
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

    /// <summary>
    /// The alternatives an export shows for a turn (<c>turn.alternatives</c>: a LOOM export, or a chat's swipes) as the
    /// journal keeps them: the chosen one is the turn itself; the others keep their texts. What each other alternative
    /// did to memory is not in an export, so choosing one keeps the turn's memory changes as they are (null memory).
    /// </summary>
    private static AlternativeSet? ImportAlternatives(TurnView turn, int index)
    {
        if (turn.Alternatives is not { } view) return null;
        if (view.Items is not { Count: > 1 } items || items.Count > TurnAlternatives.MaxAlternatives || view.Chosen < 1 || view.Chosen > items.Count
            || items.Any(a => a is null || a.Input is null || a.Narrative is null || a.Status is not (TurnStatus.Completed or TurnStatus.Failed))
            || items[view.Chosen - 1].Status != TurnStatus.Completed)
        {
            // A failed attempt stays beside the one regenerated from it (a regenerate of a failed last turn keeps it).
            throw Problems.Invalid($"turns[{index}].alternatives",
                $"alternatives need 2 to {TurnAlternatives.MaxAlternatives} completed or failed items with input and narrative, and a completed one chosen among them (1-based).");
        }
        var chosen = view.Chosen - 1;
        return new AlternativeSet
        {
            Chosen = chosen,
            Items = [.. items.Select((a, i) => i == chosen ? new StoredAlternative() : new StoredAlternative
            {
                Turn = turn with
                {
                    Input = a.Input,
                    StoryInput = a.Input == turn.Input ? turn.StoryInput : InterventionParser.Parse(a.Input).StoryText,
                    Narrative = a.Narrative,
                    Status = a.Status,
                    Error = a.Status == TurnStatus.Failed ? new TurnError { Code = "turn_failed", Message = "This attempt failed (its error is not in the export)." } : null,
                    CompletedAt = a.CompletedAt ?? turn.CompletedAt,
                    Interventions = turn.Interventions ?? [],
                    MemoryUpdates = [],
                    Alternatives = null,
                },
            })],
        };
    }

    /// <summary>Rebuilds memory shards from exported histories (vectors are recomputed on first use).</summary>
    public static List<MemoryShard> ImportMemory(List<ExportedEntity> entities, ExportedTimeline timeline, int shardCount)
    {
        var shards = Enumerable.Range(0, shardCount)
            .Select(i => new MemoryShard { Index = i, ShardCount = shardCount, FloorSeq = timeline.MemoryFloorSeq })
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
            shards[WorldMemory.ShardOf(entity.EntityId, shardCount)].Entities.Add(new StoredEntity
            {
                EntityId = entity.EntityId,
                // Lists an export left out (null) are empty, as a live session's entity always has them. A revision's
                // value last changed at the revision's own seq: recall walks seqs down from the highest lastSeq, so a
                // claimed lastSeq of 2^31 would have every turn count down two billion steps.
                Revisions = history.Select(r => new EntityRevision
                {
                    Seq = r.Seq,
                    Value = r.Value is { } v
                        ? v with
                        {
                            Content = v.Content ?? "", Aliases = v.Aliases ?? [], Attributes = v.Attributes ?? new(StringComparer.Ordinal),
                            FirstSeq = Math.Clamp(v.FirstSeq, 0, r.Seq), LastSeq = r.Seq,
                        }
                        : null,
                }).ToList(),
            });
        }
        return shards.Where(s => s.Entities.Count > 0).ToList();
    }
}
