using Loom.Llm.Offline;

namespace Loom.Tests.Llm;

/// <summary>The offline narrator's canon names: found once per canon text, and found anew when the text changes.</summary>
public sealed class CanonCuesTests
{
    private const string Saltmere = """
        # World
        The harbour city of Saltmere clings to black cliffs. Smugglers meet at the Drowned Lantern tavern.

        ## Mira Vance
        A smuggler who owes money to the Tide Council. She carries the Brass Compass everywhere.
        """;

    [Fact]
    public void Names_and_their_kinds_come_from_the_canon_text()
    {
        var names = CanonCues.ExtractNames(Saltmere).ToDictionary(n => n.Name, n => n.Kind);

        Assert.Equal("location", names["Saltmere"]);
        Assert.Equal("location", names["Drowned Lantern"]);
        Assert.Equal("character", names["Mira Vance"]);
        Assert.Equal("item", names["Brass Compass"]);
        Assert.DoesNotContain("World", names.Keys);
    }

    [Fact]
    public void A_changed_canon_is_read_again_and_a_repeated_one_is_not()
    {
        var first = CanonCues.ExtractNames(Saltmere);
        Assert.Same(first, CanonCues.ExtractNames(new string(Saltmere.AsSpan())));

        var republished = Saltmere.Replace("Mira Vance", "Oren Hale", StringComparison.Ordinal);
        var names = CanonCues.ExtractNames(republished).Select(n => n.Name).ToList();
        Assert.Contains("Oren Hale", names);
        Assert.DoesNotContain("Mira Vance", names);

        // Shared by every session of the canon, so no caller may change it.
        Assert.Throws<NotSupportedException>(() => ((IList<CanonName>)first).Add(new CanonName("Intruder", "character")));
    }

    [Fact]
    public void Many_canons_in_turn_stay_correct_past_the_cache_bound()
    {
        for (var i = 0; i < 200; i++)
        {
            var canon = $"## Keeper Number{i}\nThe keeper of the Lighthouse of Vell{i} watches the sea.";
            var names = CanonCues.ExtractNames(canon).Select(n => n.Name).ToList();
            Assert.Contains($"Keeper Number{i}", names);
        }
    }
}
