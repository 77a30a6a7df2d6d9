using Loom.Interventions;

namespace Loom.Tests.Interventions;

public class InterventionParserTests
{
    private static (string Story, (string Type, string Content)[] Found) Parse(string input)
    {
        var parsed = InterventionParser.Parse(input);
        return (parsed.StoryText, parsed.Interventions.Select(i => (i.Type, i.Content)).ToArray());
    }

    [Fact]
    public void Plain_input_has_no_interventions()
    {
        var (story, found) = Parse("  I open the door and step inside.  ");

        Assert.Equal("I open the door and step inside.", story);
        Assert.Empty(found);
    }

    [Theory]
    [InlineData("I draw my sword. (OOC: is this too violent?)", "ooc", "is this too violent?")]
    [InlineData("I draw my sword. (ooc:is this too violent?)", "ooc", "is this too violent?")]
    [InlineData("I draw my sword. ((is this too violent?))", "ooc", "is this too violent?")]
    [InlineData("I draw my sword. ((OOC: is this too violent?))", "ooc", "is this too violent?")]
    [InlineData("I draw my sword. （OOC：这样太暴力了吗？）", "ooc", "这样太暴力了吗？")]
    [InlineData("I draw my sword. (Ooc ： mixed width)", "ooc", "mixed width")]
    [InlineData("I draw my sword. [EDIT: fact: the bridge is out]", "edit", "fact: the bridge is out")]
    [InlineData("I draw my sword. [retcon: Mira never left]", "retcon", "Mira never left")]
    [InlineData("I draw my sword. [TONE: darker]", "tone", "darker")]
    [InlineData("I draw my sword. [Intent: scare him off]", "intent", "scare him off")]
    [InlineData("I draw my sword. [META：节奏慢一点]", "meta", "节奏慢一点")]
    public void Each_marker_kind_is_found_and_removed(string input, string type, string content)
    {
        var (story, found) = Parse(input);

        Assert.Equal("I draw my sword.", story);
        Assert.Equal([(type, content)], found);
    }

    [Fact]
    public void Slash_ooc_line_is_an_ooc_note_and_the_line_disappears()
    {
        var (story, found) = Parse("I wait by the fire.\n/ooc can we skip to morning?\nThen I sleep.");

        Assert.Equal("I wait by the fire.\nThen I sleep.", story);
        Assert.Equal([("ooc", "can we skip to morning?")], found);
    }

    [Fact]
    public void Slash_ooc_only_counts_at_line_start()
    {
        var (story, found) = Parse("I type /ooc into the terminal. /oocish");

        Assert.Equal("I type /ooc into the terminal. /oocish", story);
        Assert.Empty(found);
    }

    [Fact]
    public void Nested_brackets_inside_a_marker_are_balanced()
    {
        var (story, found) = Parse("Look! [EDIT: item: name=Key [rusty], description=old (very)] Then run.");

        Assert.Equal("Look! Then run.", story);
        Assert.Equal([("edit", "item: name=Key [rusty], description=old (very)")], found);
    }

    [Fact]
    public void Nested_parentheses_inside_ooc_are_balanced()
    {
        var (_, found) = Parse("Hi (OOC: a note (with an aside) here) there");

        Assert.Equal([("ooc", "a note (with an aside) here")], found);
    }

    [Theory]
    [InlineData("I shout (OOC: this never ends")]
    [InlineData("I shout [EDIT: fact: unterminated")]
    [InlineData("I shout ((still open")]
    [InlineData("I shout ((a) b) and more")]
    public void Unterminated_markers_stay_story_text(string input)
    {
        var (story, found) = Parse(input);

        Assert.Equal(input, story);
        Assert.Empty(found);
    }

    [Fact]
    public void Markers_inside_code_fences_and_inline_code_are_ignored()
    {
        var input = "Type `[TONE: dark]` to change tone.\n\n```\n(OOC: not a note)\n/ooc nor this\n```\nAnd ``[META: x]`` too. [TONE: light]";

        var (story, found) = Parse(input);

        Assert.Equal([("tone", "light")], found);
        Assert.Equal(input[..input.LastIndexOf(" [TONE", StringComparison.Ordinal)], story);
    }

    [Fact]
    public void Unclosed_fence_protects_the_rest_of_the_input()
    {
        var (story, found) = Parse("```\n[TONE: dark]");

        Assert.Empty(found);
        Assert.Equal("```\n[TONE: dark]", story);
    }

    [Fact]
    public void Escaped_opener_is_literal()
    {
        var (story, found) = Parse(@"I write \[TONE: dark] on the wall.");

        Assert.Empty(found);
        Assert.Equal(@"I write \[TONE: dark] on the wall.", story);
    }

    [Fact]
    public void Lone_backtick_does_not_swallow_markers()
    {
        var (_, found) = Parse("It's a `thing\n\nnext para [TONE: warm]");

        Assert.Equal([("tone", "warm")], found);
    }

    [Theory]
    [InlineData("I open (OOC: hi) the door.", "I open the door.")]
    [InlineData("I open the door (OOC: hi).", "I open the door.")]
    [InlineData("[TONE: dark] I open the door.", "I open the door.")]
    [InlineData("I open the door. [TONE: dark]", "I open the door.")]
    [InlineData("First.\n[TONE: dark]\nSecond.", "First.\nSecond.")]
    [InlineData("First.\n\n[TONE: dark]\n\nSecond.", "First.\n\nSecond.")]
    [InlineData("First.\n\n  [TONE: dark] (OOC: x)  \n\nSecond.", "First.\n\nSecond.")]
    [InlineData("我推开门（OOC：安全吗？）然后进去。", "我推开门然后进去。")]
    public void Whitespace_is_tidied_where_markers_were(string input, string expected) =>
        Assert.Equal(expected, InterventionParser.Parse(input).StoryText);

    [Fact]
    public void Several_markers_keep_their_order_and_input_can_be_all_markers()
    {
        var (story, found) = Parse("[TONE: grim] (OOC: short answers) [INTENT: escape]");

        Assert.Equal("", story);
        Assert.Equal([("tone", "grim"), ("ooc", "short answers"), ("intent", "escape")], found);
    }

    [Fact]
    public void Unknown_bracket_words_and_plain_parentheses_are_story()
    {
        var input = "[NOTE: hi] (aside: fine) [EDIT without colon]";

        Assert.Equal((input, 0), (InterventionParser.Parse(input).StoryText, InterventionParser.Parse(input).Interventions.Count));
    }

    [Fact]
    public void Inputs_full_of_unclosed_openers_stay_text()
    {
        // Matched with one stack pass; a rescan per opener would be quadratic on an 8,000-character input.
        var input = new string('(', 4000) + string.Concat(Enumerable.Repeat("[EDIT:", 600));

        var parsed = InterventionParser.Parse(input);

        Assert.Equal(input, parsed.StoryText);
        Assert.Empty(parsed.Interventions);
    }

    [Fact]
    public void Crlf_is_normalised() =>
        Assert.Equal("a\nb", InterventionParser.Parse("a\r\n[TONE: x]\r\nb").StoryText);
}
