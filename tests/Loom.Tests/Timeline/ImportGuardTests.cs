using Loom.Errors;
using Loom.Memory;
using Loom.Sessions;
using Loom.Timeline;
using Loom.Turns;

namespace Loom.Tests.Timeline;

/// <summary>The import guard against a small, consistent export: one rollback (two segments), three turns, one tone, one entity.</summary>
public class ImportGuardTests
{
    private static readonly ImportLimits Limits = new() { MaxInputChars = 100, MaxContentChars = 50, MaxNameChars = 20, MaxAttributes = 2 };

    private static TurnView Turn(long ordinal, int seq, TurnStatus status = TurnStatus.Completed) =>
        new() { TurnId = TurnIds.New(ordinal), Seq = seq, Input = "look", Narrative = "You look.", Status = status };

    /// <summary>Turns 1-2, a rollback to 1, then turn 2 again at ordinal 2 (the old turn 2 is retconned).</summary>
    private static SessionExport Export() => new()
    {
        Session = new SessionInfo { SessionId = "s1", Name = "n", WorldId = "w", Llm = new LlmRef { Provider = "offline", Model = "m" } },
        Canon = new CanonRef { WorldId = "w", Version = 1, Hash = "sha256:x" },
        Turns = [Turn(0, 1), Turn(1, 2, TurnStatus.Retconned), Turn(2, 2)],
        Audit = [new AuditEntry { Actor = "alice", Action = "rollback", Seq = 1 }],
        Memory =
        [
            new ExportedEntity
            {
                EntityId = "item:lamp",
                History = [new ExportedRevision { Seq = 1, Value = new MemoryEntity { EntityId = "item:lamp", Name = "Lamp", Content = "brass" } }],
            },
        ],
        Timeline = new ExportedTimeline
        {
            LastSeq = 2,
            NextOrdinal = 3,
            Segments = [new ExportedSegment { StartSeq = 1, StartOrdinal = 0 }, new ExportedSegment { StartSeq = 2, StartOrdinal = 2 }],
            Tones = [new ToneChange { Seq = 1, Tone = "hushed" }],
            MemoryFloorSeq = 0,
        },
    };

    [Fact]
    public void A_consistent_export_passes() => ImportGuard.Check(Export(), Limits);

    public static TheoryData<string, string, string> Lies => new()
    {
        { "nextOrdinal", "timeline.nextOrdinal", ImportGuard.Inconsistent },
        { "lastSeq", "timeline.lastSeq", ImportGuard.Inconsistent },
        { "segments", "timeline.segments", ImportGuard.Inconsistent },
        { "segmentStart", "timeline.segments", ImportGuard.Inconsistent },
        { "floor", "timeline.memoryFloorSeq", ImportGuard.Inconsistent },
        { "tone", "timeline.tones", ImportGuard.Inconsistent },
        { "seq", "turns[0].seq", ImportGuard.Inconsistent },
        { "usage", "turns[0].usage", ImportGuard.Inconsistent },
        { "revision", "memory[0].history", ImportGuard.Inconsistent },
        { "input", "turns[0].input", ImportGuard.TooLarge },
        { "narrative", "turns[0].narrative", ImportGuard.TooLarge },
        { "content", "memory[0]", ImportGuard.TooLarge },
    };

    [Theory]
    [MemberData(nameof(Lies))]
    public void A_counter_that_claims_more_than_the_content_or_an_oversized_part_is_422(string lie, string field, string code)
    {
        var export = Export();
        var timeline = export.Timeline!;
        export = lie switch
        {
            "nextOrdinal" => export with { Timeline = timeline with { NextOrdinal = 2_000_000 } },
            "lastSeq" => export with { Timeline = timeline with { LastSeq = 2_000_000 } },
            "segments" => export with { Timeline = timeline with { Segments = [.. timeline.Segments, new ExportedSegment { StartSeq = 2, StartOrdinal = 3 }] } },
            "segmentStart" => export with { Timeline = timeline with { Segments = [timeline.Segments[0], new ExportedSegment { StartSeq = 9, StartOrdinal = 2 }] } },
            "floor" => export with { Timeline = timeline with { MemoryFloorSeq = 3 } },
            "tone" => export with { Timeline = timeline with { Tones = [new ToneChange { Seq = 7, Tone = "loud" }] } },
            "seq" => export with { Turns = [Turn(0, 2), .. export.Turns.Skip(1)] },
            "usage" => export with { Turns = [Turn(0, 1) with { Usage = new Usage { PromptTokens = -1 } }, .. export.Turns.Skip(1)] },
            "revision" => export with { Memory = [export.Memory[0] with { History = [new ExportedRevision { Seq = 3 }] }] },
            "input" => export with { Turns = [Turn(0, 1) with { Input = new string('x', 101) }, .. export.Turns.Skip(1)] },
            "narrative" => export with { Turns = [Turn(0, 1) with { Narrative = new string('x', Limits.MaxNarrativeChars + 1) }, .. export.Turns.Skip(1)] },
            "content" => export with
            {
                Memory = [export.Memory[0] with { History = [new ExportedRevision { Seq = 1, Value = new MemoryEntity { EntityId = "item:lamp", Name = "Lamp", Content = new string('x', 51) } }] }],
            },
            _ => throw new ArgumentOutOfRangeException(nameof(lie)),
        };

        var problem = Assert.Throws<LoomProblemException>(() => ImportGuard.Check(export, Limits));
        Assert.Equal(422, problem.Status);
        Assert.Equal(code, problem.Code);
        Assert.Equal([field], problem.Errors!.Keys);
    }
}
