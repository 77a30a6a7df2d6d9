using Loom.Interventions;
using Loom.Turns;

namespace Loom.Sessions;

/// <summary>Derived facts of a session header (computed, never stored).</summary>
public static class SessionStateExtensions
{
    /// <summary>Seq of the newest committed turn on the live timeline.</summary>
    public static int CommittedSeq(this SessionState s) => s.LastSeq - s.Pending.Count;

    /// <summary>Journal position of live seq <paramref name="seq"/> (through the timeline segments rollbacks start).</summary>
    public static long OrdinalOfSeq(this SessionState s, int seq)
    {
        var segment = s.Segments.Last(x => x.StartSeq <= seq);
        return segment.StartOrdinal + (seq - segment.StartSeq);
    }

    /// <summary>Tone in force now (the last one a turn applied), or null.</summary>
    public static string? CurrentTone(this SessionState s) => s.Tones.Count > 0 ? s.Tones[^1].Tone : null;

    public static SessionInfo ToInfo(this SessionState s, string sessionId) => new()
    {
        SessionId = sessionId,
        Name = s.Name,
        WorldId = s.WorldId,
        CanonVersion = s.CanonVersion,
        Status = s.Status,
        CreatedAt = s.CreatedAt,
        UpdatedAt = s.UpdatedAt,
        TurnCount = s.TurnCount,
        PendingTurns = s.Pending.Count,
        LastTurnAt = s.LastTurnAt,
        Llm = new LlmRef { Provider = s.Llm.Provider ?? "", Model = s.Llm.Model ?? "" },
        Usage = s.Usage,
        Policy = s.Policy,
        Tone = s.CurrentTone(),
        ForkedFrom = s.ForkedFrom,
    };
}
