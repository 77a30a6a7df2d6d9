using Loom.Errors;
using Loom.Sessions;
using Loom.Turns;

namespace Loom.Timeline;

/// <summary>What one imported turn and memory revision may hold (the limits a live session enforces).</summary>
public sealed record ImportLimits
{
    public required int MaxInputChars { get; init; }
    public required int MaxContentChars { get; init; }
    public required int MaxNameChars { get; init; }
    public required int MaxAttributes { get; init; }
    /// <summary>What a live session's memory op may give an attribute (<see cref="Memory.MemoryOpNormalizer"/>).</summary>
    public const int MaxAttributeKeyChars = Memory.MemoryOpNormalizer.MaxAttributeKeyChars;
    public const int MaxAttributeValueChars = Memory.MemoryOpNormalizer.MaxAttributeValueChars;
    /// <summary>A narrative is the model's answer; no configured model writes more than this in one turn.</summary>
    public int MaxNarrativeChars { get; init; } = 256 * 1024;
}

/// <summary>
/// Checks an export's counters and sizes against the export's own content before anything is read or written,
/// in time linear in the document: a session's journal has no gaps, so <c>nextOrdinal</c> is exactly the number
/// of turns; the live timeline, segments, tones and memory history all fit inside those turns. An export that
/// claims more than it holds would make every later read, export and delete walk the claim instead of the
/// content, so it is refused with 422 (<see cref="Inconsistent"/> or <see cref="TooLarge"/>).
/// </summary>
public static class ImportGuard
{
    public const string Inconsistent = "import_inconsistent";
    public const string TooLarge = "import_too_large";

    public static void Check(SessionExport export, ImportLimits limits)
    {
        var timeline = export.Timeline!;
        var turns = export.Turns ?? [];
        var audit = export.Audit ?? [];

        if (timeline.NextOrdinal != turns.Count)
            throw Lie("timeline.nextOrdinal", $"timeline.nextOrdinal is {timeline.NextOrdinal}, but the export holds {turns.Count} turn(s); a session's journal has one turn per position.");
        if (timeline.LastSeq > turns.Count)
            throw Lie("timeline.lastSeq", $"timeline.lastSeq is {timeline.LastSeq}, but the export holds {turns.Count} turn(s).");

        // Every segment after the first was started by a rollback, and every rollback is in the audit log.
        var rollbacks = audit.Count(a => a?.Action == "rollback");
        var segments = timeline.Segments ?? [];
        if (segments.Count > rollbacks + 1)
            throw Lie("timeline.segments", $"timeline has {segments.Count} segments, but the audit log records {rollbacks} rollback(s).");
        if (segments.Any(s => s is null || s.StartSeq > timeline.LastSeq + 1))
            throw Lie("timeline.segments", "a timeline segment starts after the last turn.");
        if (timeline.MemoryFloorSeq < 0 || timeline.MemoryFloorSeq > timeline.LastSeq)
            throw Lie("timeline.memoryFloorSeq", $"timeline.memoryFloorSeq must be between 0 and lastSeq ({timeline.LastSeq}).");
        var tones = timeline.Tones ?? [];
        if (tones.Count > turns.Count || tones.Any(t => t is null || t.Seq < 1 || t.Seq > timeline.LastSeq || t.Tone is null))
            throw Lie("timeline.tones", "each tone must belong to a turn on the live timeline.");

        for (var i = 0; i < turns.Count; i++)
        {
            var turn = turns[i];
            if (turn is null) continue; // the structural checks name it
            // Seqs grow by one per submitted turn and rollbacks only lower them, so a turn's seq never passes its position + 1.
            if (TurnIds.TryGetOrdinal(turn.TurnId ?? "", out var ordinal) && turn.Seq > ordinal + 1)
                throw Lie($"turns[{i}].seq", $"turn {turn.TurnId} has seq {turn.Seq}, more than its journal position allows.");
            if (turn.Input is { } input && input.Length > limits.MaxInputChars)
                throw Large($"turns[{i}].input", $"a turn's input holds at most {limits.MaxInputChars} characters (got {input.Length}).");
            if ((turn.Narrative?.Length ?? 0) + (turn.OocReply?.Length ?? 0) > limits.MaxNarrativeChars)
                throw Large($"turns[{i}].narrative", $"a turn's narrative holds at most {limits.MaxNarrativeChars} characters.");
            foreach (var alternative in turn.Alternatives?.Items ?? [])
            {
                if ((alternative?.Input?.Length ?? 0) > limits.MaxInputChars || (alternative?.Narrative?.Length ?? 0) > limits.MaxNarrativeChars)
                    throw Large($"turns[{i}].alternatives", $"each alternative holds at most {limits.MaxInputChars} characters of input and {limits.MaxNarrativeChars} of narrative.");
            }
            if (turn.Usage is { } usage && (usage.PromptTokens < 0 || usage.CompletionTokens < 0 || usage.CachedTokens < 0 || usage.CostUsd < 0))
                throw Lie($"turns[{i}].usage", "usage must not be negative.");
        }

        var memory = export.Memory ?? [];
        for (var i = 0; i < memory.Count; i++)
        {
            // Revision seqs are checked to increase (ImportMemory), so bounding them bounds each history's length too.
            foreach (var revision in memory[i]?.History ?? [])
            {
                // A null here would be stored, and every later memory load of the session would fail on it.
                if (revision is null) throw Problems.Invalid($"memory[{i}].history", "a revision must not be null.");
                if (revision.Seq < 0 || revision.Seq > timeline.LastSeq)
                    throw Lie($"memory[{i}].history", $"a revision's seq must be between 0 and lastSeq ({timeline.LastSeq}).");
                if (revision.Value is not { } value) continue;
                if (value.Name is null || value.Aliases?.Any(a => a is null) == true || value.Attributes?.Values.Any(v => v is null) == true)
                    throw Problems.Invalid($"memory[{i}].history", "an entity needs a name, and its aliases and attribute values must not be null.");
                if (value.Content?.Length > limits.MaxContentChars || value.Name.Length > limits.MaxNameChars
                    || value.Attributes?.Count > limits.MaxAttributes || value.Aliases?.Count > limits.MaxAttributes
                    || value.Aliases?.Any(a => a.Length > limits.MaxNameChars) == true
                    || value.Attributes?.Any(a => a.Key.Length > ImportLimits.MaxAttributeKeyChars || a.Value.Length > ImportLimits.MaxAttributeValueChars) == true)
                    throw Large($"memory[{i}]", $"an entity holds at most {limits.MaxContentChars} characters of content, a {limits.MaxNameChars}-character name, "
                        + $"{limits.MaxAttributes} aliases of that length and {limits.MaxAttributes} attributes ({ImportLimits.MaxAttributeKeyChars}-character keys, {ImportLimits.MaxAttributeValueChars}-character values).");
            }
        }
    }

    private static LoomProblemException Lie(string field, string message) =>
        Problems.Unprocessable(Inconsistent, "The export's counters do not match its content: " + message, new() { [field] = [message] });

    private static LoomProblemException Large(string field, string message) =>
        Problems.Unprocessable(TooLarge, "The export holds more than a session can: " + message, new() { [field] = [message] });
}
