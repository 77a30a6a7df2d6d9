using System.Text;
using Loom.Canon;
using Loom.Worlds;

namespace Loom.Tests.Canon;

public class CanonParserTests
{
    private static CanonValidation Validate(params (string Name, string Text)[] files) =>
        CanonParser.Validate(new CanonSubmission { Files = CanonSamples.Files(files) });

    private static string Body(string heading) => $"# {heading}\n\n{CanonSamples.Long}\n";

    [Fact]
    public void Hostile_nesting_is_an_error_in_its_file_not_a_crash()
    {
        var deepYaml = Validate(("w.md", "---\nx: " + new string('[', 5_000) + new string(']', 5_000) + "\n---\n" + Body("World") + Body("Tone")));
        Assert.Contains(deepYaml.Errors, e => e.Code == CanonIssueCodes.InvalidFrontMatter && e.File == "w.md");

        var deepQuotes = Validate(("w.md", Body("World") + Body("Tone")), ("x.md", new string('>', 300) + " deep\n"));
        Assert.Contains(deepQuotes.Errors, e => e.Code == CanonIssueCodes.InvalidMarkdown && e.File == "x.md");
        Assert.False(deepQuotes.Valid);
    }

    [Theory]
    [InlineData("w.md\n")]
    [InlineData("lore/a.md\n")]
    public void A_file_name_ending_in_a_line_break_is_refused(string name)
    {
        var result = Validate((name, Body("World") + Body("Tone")));
        Assert.Contains(result.Errors, e => e.Code == CanonIssueCodes.InvalidFileName);
    }

    [Theory]
    [InlineData("abc", true)]
    [InlineData("abc\n", false)]
    [InlineData("a-b-1", true)]
    public void World_ids_are_checked_to_their_end(string id, bool valid) => Assert.Equal(valid, WorldIds.IsValid(id));

    [Fact]
    public void Valid_english_canon_gives_sections_metadata_and_title()
    {
        var result = CanonParser.Validate(CanonSamples.Valid());

        Assert.True(result.Valid, string.Join("; ", result.Errors.Select(e => e.Message)));
        Assert.Empty(result.Warnings);
        Assert.Equal(["World", "Tone"], result.Sections.Select(s => s.Name));
        Assert.Equal([SectionType.World, SectionType.Tone], result.Sections.Select(s => s.Type));
        Assert.Equal("Test Vale", result.Title);
        Assert.Equal("1.0.0", result.Metadata["version"]);
        Assert.Equal("Tester", result.Metadata["author"]);
        // Line numbers count the front matter lines.
        Assert.Equal(7, result.Sections[0].Line);
        Assert.Equal(15, result.Sections[1].Line);
    }

    [Fact]
    public void Deeper_headings_stay_inside_their_section_and_content_is_verbatim()
    {
        var result = CanonParser.Validate(CanonSamples.Valid());
        var world = result.Sections[0];

        Assert.Equal(2, result.Sections.Count);
        Assert.StartsWith("# World\n\nThe valley", world.Content);
        Assert.Contains("## Places\n\nKilnmouth, a walled mining town", world.Content);
        Assert.EndsWith("at the river ford.", world.Content);
        Assert.Contains(world.Content, CanonSamples.WorldFile);
    }

    [Theory]
    [InlineData("World", SectionType.World)]
    [InlineData("world", SectionType.World)]
    [InlineData("世界观", SectionType.World)]
    [InlineData("世界设定", SectionType.World)]
    [InlineData("World (世界观)", SectionType.World)]
    [InlineData("Ember Vale (世界观)", SectionType.World)]
    [InlineData("世界观（World）", SectionType.World)]
    [InlineData("TONE", SectionType.Tone)]
    [InlineData("叙事基调", SectionType.Tone)]
    [InlineData("基调", SectionType.Tone)]
    [InlineData("Tone (叙事基调)", SectionType.Tone)]
    [InlineData("Conflict", SectionType.Conflict)]
    [InlineData("冲突", SectionType.Conflict)]
    [InlineData("Permissions (权限)", SectionType.Permissions)]
    [InlineData("因果", SectionType.Causality)]
    [InlineData("Meta", SectionType.Meta)]
    [InlineData("元信息", SectionType.Meta)]
    [InlineData("Places", SectionType.Custom)]
    [InlineData("The World", SectionType.Custom)]
    [InlineData("Worldbuilding (notes)", SectionType.Custom)]
    public void Section_type_comes_from_the_heading_or_the_alias_in_parentheses(string heading, SectionType expected) =>
        Assert.Equal(expected, CanonSectionTypes.FromHeading(heading));

    [Fact]
    public void Chinese_canon_is_valid_and_typed()
    {
        var text = "---\ntitle: 灰烬谷\n版本: 2\n作者: 某人\n---\n# 世界观\n\n灰烬谷是一条被烟雾笼罩的长谷，谷中的人们用会发光的琥珀玻璃取暖，也用它保存记忆。每一次施法都要付出代价：温暖、睡眠，或是一段记忆。\n\n" +
                   "# 叙事基调（Tone）\n\n温暖的炉火对抗逐渐逼近的寒冷；叙事朴实、亲密、略带忧伤，偶有温情与幽默。魔法从不免费，每个人物都用自己的声音说话。\n";
        var result = Validate(("zh.md", text));

        Assert.True(result.Valid, string.Join("; ", result.Errors.Select(e => e.Message)));
        Assert.Equal([SectionType.World, SectionType.Tone], result.Sections.Select(s => s.Type));
        Assert.Equal("灰烬谷", result.Title);
        Assert.Equal("2", result.Metadata["version"]);
        Assert.Equal("某人", result.Metadata["author"]);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Sections_are_collected_across_files_sorted_by_name()
    {
        var result = Validate(("b-tone.md", Body("Tone")), ("a-world.md", Body("World")));

        Assert.True(result.Valid);
        Assert.Equal(["a-world.md", "b-tone.md"], result.Sections.Select(s => s.File));
    }

    [Fact]
    public void Headings_inside_code_fences_are_not_sections()
    {
        var text = Body("World") + "\n```markdown\n# Tone\n```\n";
        var result = Validate(("w.md", text));

        Assert.Single(result.Sections);
        Assert.Contains(result.Errors, e => e.Code == CanonIssueCodes.MissingToneSection);
    }

    [Fact]
    public void Setext_h1_is_a_section_too()
    {
        var result = Validate(("w.md", "World\n=====\n\n" + CanonSamples.Long + "\n\n" + Body("Tone")));

        Assert.True(result.Valid);
        Assert.Equal(SectionType.World, result.Sections[0].Type);
    }

    [Fact]
    public void Missing_world_and_tone_sections_are_errors()
    {
        var result = Validate(("w.md", Body("Places")));

        Assert.False(result.Valid);
        Assert.Contains(result.Errors, e => e.Code == CanonIssueCodes.MissingWorldSection);
        Assert.Contains(result.Errors, e => e.Code == CanonIssueCodes.MissingToneSection);
    }

    [Fact]
    public void Empty_section_is_an_error_with_file_and_line()
    {
        var result = Validate(("w.md", Body("World") + "\n# Tone\n\n   \n\n# Conflict\n\n" + CanonSamples.Long));

        var error = Assert.Single(result.Errors);
        Assert.Equal(CanonIssueCodes.EmptySection, error.Code);
        Assert.Equal("w.md", error.File);
        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void Short_section_is_a_warning_not_an_error()
    {
        var result = Validate(("w.md", "---\nversion: 1\nauthor: a\n---\n" + Body("World") + "\n# Tone\n\nBleak.\n"));

        Assert.True(result.Valid);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(CanonIssueCodes.ShortSection, warning.Code);
        Assert.Equal(("w.md", 9), (warning.File, warning.Line));
    }

    [Fact]
    public void Missing_version_and_author_are_warnings()
    {
        var result = Validate(("w.md", Body("World") + Body("Tone")));

        Assert.True(result.Valid);
        Assert.Equal([CanonIssueCodes.MissingVersion, CanonIssueCodes.MissingAuthor], result.Warnings.Select(w => w.Code));
        Assert.All(result.Warnings, w => Assert.Equal(("w.md", 1), (w.File, w.Line)));
    }

    [Fact]
    public void Meta_section_key_value_lines_give_metadata()
    {
        var meta = "# Meta (元信息)\n\n- version: 3\n- **Author**: Jane Doe\ntitle: From Meta\n\n```\nignored: yes\n```\n";
        var result = Validate(("w.md", Body("World") + Body("Tone") + meta));

        Assert.True(result.Valid);
        Assert.Empty(result.Warnings);
        Assert.Equal("3", result.Metadata["version"]);
        Assert.Equal("Jane Doe", result.Metadata["author"]);
        Assert.Equal("From Meta", result.Title);
        Assert.False(result.Metadata.ContainsKey("ignored"));
    }

    [Fact]
    public void Title_prefers_submission_then_metadata_then_first_world_heading()
    {
        Assert.Equal("Given", CanonParser.Validate(CanonSamples.Valid("  Given ")).Title);
        Assert.Equal("Test Vale", CanonParser.Validate(CanonSamples.Valid()).Title);
        Assert.Equal("World (世界观)", Validate(("w.md", Body("World (世界观)") + Body("Tone"))).Title);
    }

    [Fact]
    public void Yaml_front_matter_supports_lists_and_nesting()
    {
        var text = "---\ntitle: T\ntags: [dark, cozy]\nauthor:\n  name: Ann\n---\n" + Body("World") + Body("Tone");
        var result = Validate(("w.md", text));

        Assert.Equal("dark, cozy", result.Metadata["tags"]);
        Assert.Equal("Ann", result.Metadata["author.name"]);
    }

    [Theory]
    [InlineData("---\ntitle: [unclosed\n---\n", 3)]
    [InlineData("---\ntitle: a\n  bad: indent: here\n---\n", 3)]
    [InlineData("---\n- just\n- a list\n---\n", 2)]
    [InlineData("---\ntitle: never closed\n", 1)]
    // A node that contains an alias of itself: a loop in the tree (flattening it used to take the process down).
    [InlineData("---\nx: &a\n  y: *a\n---\n", 3)]
    [InlineData("---\nx: &a [1, *a]\n---\n", 2)]
    public void Invalid_front_matter_is_an_error_with_line(string frontMatter, int line)
    {
        var result = Validate(("w.md", frontMatter + Body("World") + Body("Tone")));

        var error = Assert.Single(result.Errors, e => e.Code == CanonIssueCodes.InvalidFrontMatter);
        Assert.Equal("w.md", error.File);
        Assert.Equal(line, error.Line);
        Assert.False(result.Valid);
    }

    [Fact]
    public void No_files_is_an_error()
    {
        var result = CanonParser.Validate(new CanonSubmission());

        Assert.Equal(CanonIssueCodes.NoFiles, Assert.Single(result.Errors).Code);
        Assert.Equal(CanonIssueCodes.NoFiles, Assert.Single(CanonParser.Validate(null).Errors).Code);
    }

    [Fact]
    public void Sixty_four_files_are_allowed_and_sixty_five_are_not()
    {
        var files = Enumerable.Range(0, 63).Select(i => ($"extra-{i:00}.md", Body("Place " + i))).ToList();
        files.Add(("world.md", Body("World") + Body("Tone")));

        Assert.True(Validate([.. files]).Valid);

        files.Add(("one-more.md", Body("Place")));
        var result = Validate([.. files]);
        Assert.Equal(CanonIssueCodes.TooManyFiles, Assert.Single(result.Errors).Code);
    }

    [Fact]
    public void A_file_of_exactly_one_mebibyte_is_allowed_and_one_byte_more_is_not()
    {
        var head = Body("World") + Body("Tone") + "# Notes\n\n";
        var exact = head + new string('x', CanonLimits.MaxFileBytes - Encoding.UTF8.GetByteCount(head));
        Assert.Equal(1024 * 1024, Encoding.UTF8.GetByteCount(exact));

        Assert.True(Validate(("w.md", exact)).Valid);

        var result = Validate(("w.md", exact + "灰")); // multi-byte: limit is in UTF-8 bytes, not chars
        var error = Assert.Single(result.Errors);
        Assert.Equal((CanonIssueCodes.FileTooLarge, "w.md"), (error.Code, error.File));
    }

    [Theory]
    [InlineData("notes.txt")]
    [InlineData("../world.md")]
    [InlineData("dir/world.md")]
    [InlineData("my world.md")]
    [InlineData("世界.md")]
    [InlineData(".md")]
    [InlineData("")]
    public void Bad_file_names_are_errors(string name)
    {
        var result = Validate(("world.md", Body("World") + Body("Tone")), (name, Body("Places")));

        var error = Assert.Single(result.Errors);
        Assert.Equal((CanonIssueCodes.InvalidFileName, name), (error.Code, error.File));
    }

    [Fact]
    public void File_name_length_limit_is_128()
    {
        var ok = new string('a', 125) + ".md";
        Assert.True(Validate((ok, Body("World") + Body("Tone"))).Valid);
        Assert.Equal(CanonIssueCodes.InvalidFileName, Assert.Single(Validate(("a" + ok, Body("World") + Body("Tone"))).Errors).Code);
    }

    [Fact]
    public void Lone_surrogate_text_is_invalid_utf8_with_line()
    {
        var result = Validate(("w.md", Body("World") + "bad \uD800 here\n" + Body("Tone")));

        var error = Assert.Single(result.Errors);
        Assert.Equal((CanonIssueCodes.InvalidUtf8, "w.md", 4), (error.Code, error.File, error.Line));
    }

    [Fact]
    public void TryDecodeUtf8_accepts_valid_text_and_drops_the_bom()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("# 世界观\nok")).ToArray();

        Assert.True(CanonText.TryDecodeUtf8(bytes, out var text, out var issue));
        Assert.Equal("# 世界观\nok", text);
        Assert.Null(issue);
    }

    [Fact]
    public void TryDecodeUtf8_reports_the_line_of_the_first_bad_byte()
    {
        var bytes = Encoding.UTF8.GetBytes("line one\nline two\nbad: ").Concat(new byte[] { 0xC3, 0x28 }).ToArray();

        Assert.False(CanonText.TryDecodeUtf8(bytes, out _, out var issue));
        Assert.NotNull(issue);
        Assert.Equal((CanonIssueCodes.InvalidUtf8, 3), (issue.Code, issue.Line));
        Assert.False(CanonText.TryDecodeUtf8([0xFF], "x.md", out _, out issue));
        Assert.Equal(("x.md", 1), (issue!.File, issue.Line));
    }

    [Fact]
    public void Text_before_the_first_heading_is_a_warning()
    {
        var result = Validate(("w.md", "---\nversion: 1\nauthor: a\n---\n\nStray words.\n\n" + Body("World") + Body("Tone")));

        var warning = Assert.Single(result.Warnings);
        Assert.Equal((CanonIssueCodes.ContentOutsideSection, 6), (warning.Code, warning.Line));
    }

    [Fact]
    public void Crlf_input_parses_like_lf()
    {
        var lf = CanonParser.Validate(CanonSamples.Valid());
        var crlf = CanonParser.Validate(new CanonSubmission { Files = CanonSamples.Files(("world.md", CanonSamples.WorldFile.Replace("\n", "\r\n"))) });

        Assert.Equal(lf.Sections.Select(s => (s.Name, s.Line, s.Content)), crlf.Sections.Select(s => (s.Name, s.Line, s.Content)));
    }
}
