using System.Text;
using System.Text.RegularExpressions;
using Loom.Worlds;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Loom.Canon;

/// <summary>
/// Parses and validates a canon submission: pure, deterministic, no I/O. H1 headings open sections; deeper headings
/// stay inside them. Section content is kept verbatim (the engine never rewrites an author's words).
/// </summary>
public static partial class CanonParser
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().Build();

    /// <summary>Validates a submission. Never throws for bad input: every problem becomes an issue.</summary>
    public static CanonValidation Validate(CanonSubmission? submission) => Parse(submission).Validation;

    /// <summary>Where each section's content sits in its LF-normalised file, so a stored version need not copy it.</summary>
    internal readonly record struct SectionSpan(int Start, int Length);

    internal sealed record ParsedCanon(CanonValidation Validation, IReadOnlyList<SectionSpan> Spans);

    internal static ParsedCanon Parse(CanonSubmission? submission)
    {
        var errors = new List<CanonIssue>();
        var warnings = new List<CanonIssue>();
        var sections = new List<CanonSection>();
        var spans = new List<SectionSpan>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = submission?.Files ?? [];

        ParsedCanon Result(string? title) => new(new CanonValidation
        {
            Valid = errors.Count == 0,
            Errors = errors,
            Warnings = warnings,
            Sections = sections,
            Metadata = metadata,
            Title = title,
        }, spans);

        if (files.Count == 0)
        {
            errors.Add(Issue(CanonIssueCodes.NoFiles, "The canon has no files: submit at least one Markdown file.", null, null));
            return Result(null);
        }

        var loreFiles = files.Keys.Count(Lore.LoreFiles.IsLoreFile);
        if (files.Count - loreFiles > CanonLimits.MaxFiles || loreFiles > CanonLimits.MaxLoreFiles)
        {
            // Stop here: parsing an oversized submission is wasted work and the answer is already "no".
            errors.Add(Issue(CanonIssueCodes.TooManyFiles,
                $"The canon has {files.Count - loreFiles} files and {loreFiles} lore entries; at most {CanonLimits.MaxFiles} files and {CanonLimits.MaxLoreFiles} lore entries are allowed.", null, null));
            return Result(null);
        }

        long totalBytes = 0;
        foreach (var name in files.Keys.Order(StringComparer.Ordinal))
        {
            var raw = files[name] ?? "";
            if (!IsValidFileName(name))
            {
                errors.Add(Issue(CanonIssueCodes.InvalidFileName,
                    $"File name '{Printable(name)}' is not allowed: use 1-{CanonLimits.MaxFileNameLength} characters from A-Z a-z 0-9 . _ - ending in '.md', optionally in the folder 'lore/' or 'card/'.",
                    name, 1));
                continue;
            }

            if (CanonText.FindLoneSurrogateLine(raw) is { } badLine)
            {
                errors.Add(Issue(CanonIssueCodes.InvalidUtf8, "The file contains text that is not valid UTF-8 (an unpaired surrogate).", name, badLine));
                continue;
            }

            var bytes = CanonText.Utf8ByteCount(raw);
            totalBytes += bytes;
            if (bytes > CanonLimits.MaxFileBytes)
            {
                errors.Add(Issue(CanonIssueCodes.FileTooLarge,
                    $"The file is {bytes} bytes; at most {CanonLimits.MaxFileBytes} bytes (1 MiB) are allowed.", name, 1));
                continue;
            }

            if (totalBytes > CanonLimits.MaxTotalBytes)
            {
                errors.Add(Issue(CanonIssueCodes.CanonTooLarge,
                    $"The canon is larger than {CanonLimits.MaxTotalBytes} bytes in total.", null, null));
                return Result(null);
            }

            // Lore entries and imported card data are not canon sections: lore is placed by the planner, card data only exported.
            if (Lore.LoreFiles.IsLoreFile(name)) Lore.LoreFiles.Read(name, CanonText.NormalizeNewlines(raw), errors, warnings);
            else if (!IsCardFile(name)) ParseFile(name, CanonText.NormalizeNewlines(raw), errors, warnings, sections, spans, metadata);
        }

        if (errors.Any(e => e.Code is CanonIssueCodes.InvalidFileName or CanonIssueCodes.InvalidUtf8 or CanonIssueCodes.FileTooLarge) is false)
        {
            // Only claim a section is missing when every file was actually read.
            if (!sections.Any(s => s.Type == SectionType.World))
            {
                errors.Add(Issue(CanonIssueCodes.MissingWorldSection,
                    "The canon has no World section: add an H1 heading such as '# World' or '# 世界观'.", null, null));
            }

            if (!sections.Any(s => s.Type == SectionType.Tone))
            {
                errors.Add(Issue(CanonIssueCodes.MissingToneSection,
                    "The canon has no Tone section: add an H1 heading such as '# Tone' or '# 叙事基调'.", null, null));
            }
        }

        // Metadata warnings point at the first file's first line: that is where front matter would go.
        var firstFile = files.Keys.Where(IsCanonText).Order(StringComparer.Ordinal).FirstOrDefault() ?? files.Keys.Order(StringComparer.Ordinal).First();
        if (!metadata.TryGetValue("version", out var version) || string.IsNullOrWhiteSpace(version))
        {
            warnings.Add(Issue(CanonIssueCodes.MissingVersion, "No 'version' metadata: add it to the front matter or a Meta section.", firstFile, 1));
        }

        if (!metadata.TryGetValue("author", out var author) || string.IsNullOrWhiteSpace(author))
        {
            warnings.Add(Issue(CanonIssueCodes.MissingAuthor, "No 'author' metadata: add it to the front matter or a Meta section.", firstFile, 1));
        }

        var title = NonBlank(submission?.Title)
            ?? NonBlank(metadata.GetValueOrDefault("title"))
            ?? NonBlank(sections.FirstOrDefault(s => s.Type == SectionType.World)?.Name);
        return Result(title);
    }

    private static void ParseFile(string file, string text, List<CanonIssue> errors, List<CanonIssue> warnings,
        List<CanonSection> sections, List<SectionSpan> spans, Dictionary<string, string> metadata)
    {
        var front = CanonFrontMatter.Find(text);
        if (front.Present && !front.Closed)
        {
            errors.Add(Issue(CanonIssueCodes.InvalidFrontMatter, "Front matter opened with '---' is never closed with '---'.", file, 1));
        }
        else if (front.Present && CanonFrontMatter.TryRead(front.Yaml, metadata) is { } problem)
        {
            // The YAML starts on the file's second line.
            errors.Add(Issue(CanonIssueCodes.InvalidFrontMatter, problem.Message, file, problem.Line + 1));
        }

        var bodyStart = front.BodyStart;
        var body = text[bodyStart..];
        MarkdownDocument document;
        try
        {
            document = Markdown.Parse(body, Pipeline);
        }
        catch (ArgumentException ex)
        {
            // Markdig refuses blocks nested past its limit (e.g. hundreds of '>' quotes): an error in this file, not a crash.
            errors.Add(Issue(CanonIssueCodes.InvalidMarkdown, $"The Markdown cannot be read: {ex.Message}", file, front.BodyLineOffset + 1));
            return;
        }
        var headings = document.OfType<HeadingBlock>().Where(h => h.Level == 1).ToList();

        var preambleEnd = headings.Count > 0 ? headings[0].Span.Start : body.Length;
        var preamble = body[..preambleEnd];
        if (!string.IsNullOrWhiteSpace(preamble))
        {
            var firstText = preamble.Length - preamble.TrimStart().Length;
            warnings.Add(Issue(CanonIssueCodes.ContentOutsideSection,
                "Text before the first H1 heading belongs to no section, so the narrator never sees it.",
                file, front.BodyLineOffset + CountLines(preamble, firstText)));
        }

        for (var i = 0; i < headings.Count; i++)
        {
            var heading = headings[i];
            var start = heading.Span.Start;
            var end = i + 1 < headings.Count ? headings[i + 1].Span.Start : body.Length;
            var content = body[start..end].TrimEnd();
            var headingEnd = Math.Min(heading.Span.End + 1, start + content.Length);
            var sectionBody = content[(headingEnd - start)..];
            var name = HeadingText(heading);
            var type = CanonSectionTypes.FromHeading(name);
            var line = front.BodyLineOffset + heading.Line + 1;

            sections.Add(new CanonSection { Name = name, Type = type, File = file, Content = content, Line = line });
            spans.Add(new SectionSpan(bodyStart + start, content.Length));

            var bodyChars = sectionBody.Trim().Length;
            if (bodyChars == 0)
            {
                errors.Add(Issue(CanonIssueCodes.EmptySection, $"Section '{name}' has no content under its heading.", file, line));
                continue;
            }

            if (type == SectionType.Meta)
            {
                CanonMetadata.ReadLines(sectionBody, metadata);
            }
            else if (bodyChars < CanonLimits.ShortSectionChars)
            {
                warnings.Add(Issue(CanonIssueCodes.ShortSection,
                    $"Section '{name}' has only {bodyChars} characters; the narrator has little to work with.", file, line));
            }
        }
    }

    /// <summary>The heading's text as a reader sees it: emphasis and links flattened, code kept.</summary>
    private static string HeadingText(HeadingBlock heading)
    {
        var sb = new StringBuilder();
        AppendInlines(heading.Inline, sb);
        return WhiteSpaceRun().Replace(sb.ToString(), " ").Trim();
    }

    private static void AppendInlines(ContainerInline? container, StringBuilder sb)
    {
        for (var inline = container?.FirstChild; inline is not null; inline = inline.NextSibling)
        {
            switch (inline)
            {
                case LiteralInline literal:
                    sb.Append(literal.Content.ToString());
                    break;
                case CodeInline code:
                    sb.Append(code.Content);
                    break;
                case HtmlEntityInline entity:
                    sb.Append(entity.Transcoded.ToString());
                    break;
                case AutolinkInline autolink:
                    sb.Append(autolink.Url);
                    break;
                case LineBreakInline:
                    sb.Append(' ');
                    break;
                case ContainerInline nested:
                    AppendInlines(nested, sb);
                    break;
            }
        }
    }

    /// <summary>Files whose text is canon (placed verbatim in the system message): top-level files, not <c>lore/</c> or <c>card/</c>.</summary>
    public static bool IsCanonText(string name) => !name.Contains('/', StringComparison.Ordinal);

    /// <summary><c>card/…</c> files hold what an imported character card carried beyond canon and lore (kept for export).</summary>
    public static bool IsCardFile(string name) => name.StartsWith("card/", StringComparison.Ordinal);

    private static bool IsValidFileName(string name) =>
        name.Length is > 0 and <= CanonLimits.MaxFileNameLength
        && FileName().IsMatch(name)
        && name.EndsWith(".md", StringComparison.OrdinalIgnoreCase)
        && name.Length > 3;

    private static int CountLines(string text, int upTo) => text.AsSpan(0, upTo).Count('\n') + 1;

    private static string? NonBlank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    /// <summary>File names are echoed in messages; keep control characters out of them.</summary>
    private static string Printable(string s) =>
        new(s.Take(CanonLimits.MaxFileNameLength).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static CanonIssue Issue(string code, string message, string? file, int? line) =>
        new() { Code = code, Message = message, File = file, Line = line };

    [GeneratedRegex(@"^(?:(?:lore|card)/)?[A-Za-z0-9._-]{1,128}\z")] // \z: "$" would let a final line break through
    private static partial Regex FileName();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpaceRun();
}
