using Loom.Errors;
using Loom.Memory;
using Loom.Timeline;
using Loom.Turns;

namespace Loom.Interventions;

/// <summary>What the markers of one turn contribute to its prompt and memory.</summary>
public sealed record InterventionPlan(List<Intervention> Interventions, List<MemoryOp> Applied, string? Tone, string Intent,
    string OutOfCharacter, string Retcons);

/// <summary>
/// Inline markers taking effect when their turn runs, before narration: edits and retcons change memory as the
/// turn's own seq (so a failed turn or a rollback undoes them with the rest of the turn), tone and intent shape
/// the prompt, OOC notes go to the narrator outside the story, META only reaches the audit log. Each marker ends
/// up applied, noted or refused on the turn; a refused one changes nothing.
/// </summary>
public sealed class InterventionPlanner
{
    /// <summary>True when planning <paramref name="turn"/> may change memory (an edit or a retcon marker).</summary>
    public static bool MayChangeMemory(TurnView turn)
    {
        foreach (var marker in turn.Interventions)
            if (marker.Type is InterventionParser.Edit or InterventionParser.Retcon) return true;
        return false;
    }

    public InterventionPlan Plan(WorldMemory memory, EffectivePolicy policy, TurnView turn)
    {
        var result = new List<Intervention>(turn.Interventions.Count);
        var applied = new List<MemoryOp>();
        string? tone = null;
        var intents = new List<string>();
        var notes = new List<string>();
        var retcons = new List<string>();

        foreach (var marker in turn.Interventions)
        {
            if (marker.Type == InterventionParser.Meta)
            {
                result.Add(Mark(marker, InterventionStatus.Noted, "kept in the audit log only"));
                continue;
            }
            if (!policy.InterventionsAllowed)
            {
                result.Add(Mark(marker, InterventionStatus.Refused, "interventions are not allowed in this session"));
                continue;
            }
            switch (marker.Type)
            {
                case InterventionParser.Ooc:
                    notes.Add(marker.Content);
                    result.Add(Mark(marker, InterventionStatus.Noted, "given to the narrator out of character"));
                    break;
                case InterventionParser.Intent:
                    intents.Add(marker.Content);
                    result.Add(marker with { Status = InterventionStatus.Applied.ToWire() });
                    break;
                case InterventionParser.Tone:
                    tone = marker.Content;
                    result.Add(Mark(marker, InterventionStatus.Applied, "tone in force from this turn on"));
                    break;
                case InterventionParser.Edit:
                    result.Add(ApplyOps(memory, marker, EditOps.From(marker.Content, memory, out var editError), editError, turn.Seq, applied).Marker);
                    break;
                case InterventionParser.Retcon:
                    result.Add(Retcon(memory, policy, marker, turn.Seq, applied, retcons));
                    break;
                default:
                    result.Add(Mark(marker, InterventionStatus.Refused, $"unknown marker type '{marker.Type}'"));
                    break;
            }
        }
        return new InterventionPlan(result, applied, tone, string.Join("\n", intents), string.Join("\n", notes), string.Join("\n", retcons));
    }

    private static Intervention Retcon(WorldMemory memory, EffectivePolicy policy, Intervention marker, int seq, List<MemoryOp> applied,
        List<string> retcons)
    {
        var (change, why) = RetconText.Split(marker.Content);
        if (!policy.RetconAllowed) return Mark(marker, InterventionStatus.Refused, "retcons are not allowed in this session");
        if (policy.JustificationProblem(why) is { } problem) return Mark(marker, InterventionStatus.Refused, problem);
        if (change.Length == 0) return Mark(marker, InterventionStatus.Refused, "the retcon states no change");

        var ops = EditOps.From(change, memory, out _) ?? EditOps.Fact(change);
        var (outcome, status) = ApplyOps(memory, marker, ops, null, seq, applied);
        if (status != InterventionStatus.Applied) return outcome;
        retcons.Add(change);
        return outcome with { Detail = outcome.Detail + (why is null ? "" : "; justification: " + why) };
    }

    /// <summary>Applies a marker's operations as turn <paramref name="seq"/>, or records why it could not.</summary>
    private static (Intervention Marker, InterventionStatus Status) ApplyOps(WorldMemory memory, Intervention marker, List<MemoryOp>? ops,
        string? error, int seq, List<MemoryOp> applied)
    {
        if (ops is null) return (Mark(marker, InterventionStatus.Refused, error), InterventionStatus.Refused);
        try
        {
            var done = memory.Apply(ops, seq);
            applied.AddRange(done);
            var detail = "memory: " + string.Join(", ", done.Select(o => $"{o.Op} {o.EntityId}"));
            return (Mark(marker, InterventionStatus.Applied, detail), InterventionStatus.Applied);
        }
        catch (LoomProblemException problem)
        {
            return (Mark(marker, InterventionStatus.Refused, problem.Detail), InterventionStatus.Refused);
        }
    }

    private static Intervention Mark(Intervention marker, InterventionStatus status, string? detail) =>
        marker with { Status = status.ToWire(), Detail = detail };

    /// <summary>The tone a finished turn put in force, if any.</summary>
    public static string? ToneOf(TurnView turn) =>
        turn.Interventions.LastOrDefault(i => i.Type == InterventionParser.Tone && i.Is(InterventionStatus.Applied))?.Content;

    /// <summary>Audit records of a finished turn's markers (written when the turn commits). A failed turn's markers had
    /// no effect, except <c>[META]</c>, whose only place is the audit log: it is recorded whatever became of the turn.</summary>
    public static List<AuditEntry> AuditOf(TurnView turn, string ownerId)
    {
        if (turn.Interventions.Count == 0 || turn.Status is not (TurnStatus.Completed or TurnStatus.Failed)) return [];
        var markers = turn.Status == TurnStatus.Completed
            ? turn.Interventions
            : turn.Interventions.Where(m => m.Type == InterventionParser.Meta);
        return markers.Select(marker =>
        {
            var details = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["turnId"] = turn.TurnId,
                ["content"] = marker.Content,
                ["status"] = marker.Status ?? InterventionStatuses.Noted,
            };
            if (marker.Detail is not null) details["detail"] = marker.Detail;
            if (marker.Type == InterventionParser.Ooc && turn.OocReply is not null) details["oocReply"] = turn.OocReply;
            return new AuditEntry
            {
                At = turn.CompletedAt ?? DateTime.UtcNow,
                Actor = ownerId,
                Action = marker.Type,
                Reason = marker.Type == InterventionParser.Retcon ? RetconText.Split(marker.Content).Justification : null,
                Seq = turn.Seq,
                Details = details,
            };
        }).ToList();
    }
}
