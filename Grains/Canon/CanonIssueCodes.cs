namespace Loom.Canon;

/// <summary>Stable machine codes for canon issues; clients and tests match on these, so never rename one.</summary>
public static class CanonIssueCodes
{
    // Errors
    public const string NoFiles = "no_files";
    public const string TooManyFiles = "too_many_files";
    public const string CanonTooLarge = "canon_too_large";
    public const string InvalidFileName = "invalid_file_name";
    public const string FileTooLarge = "file_too_large";
    public const string InvalidUtf8 = "invalid_utf8";
    public const string InvalidFrontMatter = "invalid_front_matter";
    public const string InvalidMarkdown = "invalid_markdown";
    public const string EmptySection = "empty_section";
    public const string MissingWorldSection = "missing_world_section";
    public const string MissingToneSection = "missing_tone_section";
    public const string InvalidLoreEntry = "invalid_lore_entry";

    // Warnings
    public const string MissingVersion = "missing_version";
    public const string MissingAuthor = "missing_author";
    public const string ShortSection = "short_section";
    public const string ContentOutsideSection = "content_outside_section";
    public const string UnknownLoreSetting = "unknown_lore_setting";
    public const string LoreNeverFires = "lore_never_fires";
}
