using Loom.Errors;

namespace Loom.Import;

/// <summary>Limits on imported files and the problems bad files get. Every refusal happens before anything is stored.</summary>
public static class ImportProblems
{
    /// <summary>A card or lorebook file (PNG, JSON or CHARX) may be at most this large.</summary>
    public const int MaxFileBytes = 16 * 1024 * 1024;
    /// <summary>The decoded card JSON (from a PNG chunk or a CHARX entry) may be at most this large.</summary>
    public const int MaxJsonBytes = 8 * 1024 * 1024;
    /// <summary>A CHARX archive may expand to at most this much in total, and hold at most this many entries.</summary>
    public const long MaxArchiveBytes = 64L * 1024 * 1024;
    public const int MaxArchiveEntries = 1024;
    /// <summary>Decompression ratio above which an archive entry counts as a zip bomb.</summary>
    public const int MaxCompressionRatio = 200;
    public const int MaxJsonDepth = 64;

    public static LoomProblemException NotACard(string detail) =>
        new(400, "not_a_card", "Not a character card or lorebook", detail);

    public static LoomProblemException Invalid(string code, string detail) =>
        new(422, code, "Invalid card or lorebook", detail);

    public static LoomProblemException TooLarge(string detail) =>
        new(413, "import_too_large", "Import too large", detail);
}
