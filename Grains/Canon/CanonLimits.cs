namespace Loom.Canon;

/// <summary>Hard limits on a submission. They bound the size of a world's stored state and of one grain message.</summary>
public static class CanonLimits
{
    public const int MaxFiles = 64;
    /// <summary>Lore entries (<c>lore/*.md</c>) are counted apart: lorebooks of hundreds of small entries are common.</summary>
    public const int MaxLoreFiles = 2000;
    public const int MaxFileBytes = 1024 * 1024;
    /// <summary>64 files of 1 MiB would make a 64 MiB grain state row; cap the whole canon well below that.</summary>
    public const int MaxTotalBytes = 16 * 1024 * 1024;
    public const int MaxFileNameLength = 128;
    /// <summary>Bodies shorter than this (in characters, trimmed) get a <c>short_section</c> warning.</summary>
    public const int ShortSectionChars = 50;
}
