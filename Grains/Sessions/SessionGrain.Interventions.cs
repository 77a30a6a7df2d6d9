using Loom.Errors;
using Loom.Interventions;
using Loom.Memory;
using Loom.Timeline;
using Loom.Turns;
using Loom.Worlds;

namespace Loom.Sessions;

/// <summary>
/// Inline markers taking effect when their turn runs, before narration: edits and retcons change memory as the
/// turn's own seq (so a failed turn or a rollback undoes them with the rest of the turn), tone and intent shape
/// the prompt, OOC notes go to the narrator outside the story, META only reaches the audit log. Each marker ends
/// up "applied", "noted" or "refused" on the turn; a refused one changes nothing.
/// </summary>
public sealed partial class SessionGrain
{
    public const string Applied = "applied";
    public const string Refused = "refused";
    public const string Noted = "noted";

    /// <summary>What the markers of one turn contribute to its prompt and memory.</summary>
    private sealed record TurnPlan(List<Intervention> Interventions, List<MemoryOp> Applied, string? Tone, string Intent,
        string OutOfCharacter, string Retcons);

    private string? CurrentTone => S.Tones.Count > 0 ? S.Tones[^1].Tone : null;

    private async Task<CanonVersion> CanonAsync() =>
        _canon ??= await GrainFactory.GetGrain<IWorldGrain>(S.WorldId).GetPinnedCanon(S.CanonVersion, includeFiles: true);

    private EffectivePolicy PolicyOf(CanonVersion canon) => EffectivePolicy.Combine(canon.Metadata, S.Policy);

    private TurnPlan PlanInterventions(WorldMemory memory, CanonVersion canon, TurnView turn)
    {
        var policy = PolicyOf(canon);
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
                result.Add(marker with { Status = Noted, Detail = "kept in the audit log only" });
                continue;
            }
            if (!policy.InterventionsAllowed)
            {
                result.Add(marker with { Status = Refused, Detail = "interventions are not allowed in this session" });
                continue;
            }
            switch (marker.Type)
            {
                case InterventionParser.Ooc:
                    notes.Add(marker.Content);
                    result.Add(marker with { Status = Noted, Detail = "given to the narrator out of character" });
                    break;
                case InterventionParser.Intent:
                    intents.Add(marker.Content);
                    result.Add(marker with { Status = Applied });
                    break;
                case InterventionParser.Tone:
                    tone = marker.Content;
                    result.Add(marker with { Status = Applied, Detail = "tone in force from this turn on" });
                    break;
                case InterventionParser.Edit:
                    result.Add(ApplyMarkerOps(memory, marker, EditOps.From(marker.Content, memory, out var editError), editError, turn.Seq, applied));
                    break;
                case InterventionParser.Retcon:
                    var (change, why) = RetconText.Split(marker.Content);
                    if (!policy.RetconAllowed)
                    {
                        result.Add(marker with { Status = Refused, Detail = "retcons are not allowed in this session" });
                    }
                    else if (policy.JustificationProblem(why) is { } problem)
                    {
                        result.Add(marker with { Status = Refused, Detail = problem });
                    }
                    else if (change.Length == 0)
                    {
                        result.Add(marker with { Status = Refused, Detail = "the retcon states no change" });
                    }
                    else
                    {
                        var ops = EditOps.From(change, memory, out _) ?? EditOps.Fact(change);
                        var outcome = ApplyMarkerOps(memory, marker, ops, null, turn.Seq, applied);
                        if (outcome.Status == Applied)
                        {
                            retcons.Add(change);
                            outcome = outcome with { Detail = outcome.Detail + (why is null ? "" : "; justification: " + why) };
                        }
                        result.Add(outcome);
                    }
                    break;
                default:
                    result.Add(marker with { Status = Refused, Detail = $"unknown marker type '{marker.Type}'" });
                    break;
            }
        }
        return new TurnPlan(result, applied, tone, string.Join("\n", intents), string.Join("\n", notes), string.Join("\n", retcons));
    }

    /// <summary>Applies a marker's operations as turn <paramref name="seq"/>, or records why it could not.</summary>
    private Intervention ApplyMarkerOps(WorldMemory memory, Intervention marker, List<MemoryOp>? ops, string? error, int seq, List<MemoryOp> applied)
    {
        if (ops is null) return marker with { Status = Refused, Detail = error };
        try
        {
            _memoryInFlight ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var done = memory.Apply(ops, seq);
            applied.AddRange(done);
            return marker with { Status = Applied, Detail = "memory: " + string.Join(", ", done.Select(o => $"{o.Op} {o.EntityId}")) };
        }
        catch (LoomProblemException problem)
        {
            return marker with { Status = Refused, Detail = problem.Detail };
        }
    }

    /// <summary>Audit records of a finished turn's markers (written when the turn commits).</summary>
    private List<AuditEntry> AuditOf(TurnView turn)
    {
        if (turn.Status != TurnStatus.Completed || turn.Interventions.Count == 0) return [];
        return turn.Interventions.Select(marker =>
        {
            var details = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["turnId"] = turn.TurnId,
                ["content"] = marker.Content,
                ["status"] = marker.Status ?? Noted,
            };
            if (marker.Detail is not null) details["detail"] = marker.Detail;
            if (marker.Type == InterventionParser.Ooc && turn.OocReply is not null) details["oocReply"] = turn.OocReply;
            return new AuditEntry
            {
                At = turn.CompletedAt ?? DateTime.UtcNow,
                Actor = S.OwnerId,
                Action = marker.Type,
                Reason = marker.Type == InterventionParser.Retcon ? RetconText.Split(marker.Content).Justification : null,
                Seq = turn.Seq,
                Details = details,
            };
        }).ToList();
    }
}
