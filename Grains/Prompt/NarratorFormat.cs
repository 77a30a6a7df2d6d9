namespace Loom.Prompt;

/// <summary>
/// Markers shared by the prompt assembler, the offline narrator and the memory extractor. Changing them
/// changes every prompt (and so every provider prompt-cache prefix): treat them as a wire format.
/// </summary>
public static class NarratorFormat
{
    /// <summary>Opens the fenced memory block at the end of an answer (shared narrator memory protocol).</summary>
    public const string MemoryFence = "```loom-memory";

    /// <summary>Closes the memory block.</summary>
    public const string FenceEnd = "```";

    /// <summary>A system message starting with this asks for a summary of the user message(s), not narration.</summary>
    public const string SummarizeMarker = "[loom:summarize]";

    /// <summary>Context heading over the player's out-of-character notes (answered only in the block's "ooc" field).</summary>
    public const string OutOfCharacterHeading = "Out-of-character notes from the player (not part of the story)";

    /// <summary>Context heading over retcons made this turn.</summary>
    public const string RetconHeading = "Retcons: from now on these facts hold, as if they always had";

    /// <summary>Line that precedes the verbatim canon in the system message.</summary>
    public const string CanonHeader = "=== CANON (the world's rules, verbatim) ===";

    /// <summary>Line that follows the canon.</summary>
    public const string CanonFooter = "=== END OF CANON ===";

    /// <summary>Line that introduces one canon file, by name.</summary>
    public static string CanonFileHeader(string fileName) => $"--- canon file: {fileName} ---";
}
