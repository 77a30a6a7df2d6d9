using Loom.Interventions;

namespace Loom.Tests.Interventions;

public class EditCommandTests
{
    [Fact]
    public void Type_target_with_free_text_change()
    {
        Assert.True(EditCommand.TryParse("fact: the bridge is out", out var edit));

        Assert.Equal(("fact", "fact", "the bridge is out", (string?)null), (edit.Target, edit.EntityType, edit.Change, edit.Verb));
        Assert.Empty(edit.Fields);
    }

    [Fact]
    public void Key_value_fields_allow_spaces_brackets_and_quoted_commas()
    {
        Assert.True(EditCommand.TryParse("item: name=Key [rusty], description=\"old, heavy\", Owner = Mira Fenn", out var edit));

        Assert.Equal("item", edit.EntityType);
        Assert.Equal(new Dictionary<string, string> { ["name"] = "Key [rusty]", ["description"] = "old, heavy", ["owner"] = "Mira Fenn" },
            edit.Fields);
    }

    [Fact]
    public void Comma_segment_without_a_key_continues_the_previous_value()
    {
        Assert.True(EditCommand.TryParse("character: name=Mira, description=a smuggler, wry and wary", out var edit));

        Assert.Equal("a smuggler, wry and wary", edit.Fields["description"]);
    }

    [Fact]
    public void Entity_name_target_amends_that_entity()
    {
        Assert.True(EditCommand.TryParse("Mira Fenn: mood=angry", out var edit));

        Assert.Equal(("Mira Fenn", (string?)null), (edit.Target, edit.EntityType));
        Assert.Equal("angry", edit.Fields["mood"]);
    }

    [Theory]
    [InlineData("add: character: name=Osk", "add", "character")]
    [InlineData("UPDATE: Mira: mood=calm", "update", "Mira")]
    [InlineData("remove: Old Hesk", "remove", "Old Hesk")]
    [InlineData("delete: item: name=Key", "remove", "item")]
    public void Leading_verb_is_recognised(string content, string verb, string target)
    {
        Assert.True(EditCommand.TryParse(content, out var edit));

        Assert.Equal((verb, target), (edit.Verb, edit.Target));
    }

    [Theory]
    [InlineData("人物：name=米拉", "character")]
    [InlineData("Location: the ford floods", "location")]
    [InlineData("plotlines: the Cinder dims", "plotline")]
    public void Type_words_are_normalised(string content, string type)
    {
        Assert.True(EditCommand.TryParse(content, out var edit));

        Assert.Equal(type, edit.EntityType);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    [InlineData("Mira is now a queen")]
    [InlineData(": no target")]
    [InlineData("Mira:")]
    [InlineData("add: no second part")]
    [InlineData("name=a:b")]
    public void Free_form_or_incomplete_edits_do_not_parse(string? content) =>
        Assert.False(EditCommand.TryParse(content, out _));
}
