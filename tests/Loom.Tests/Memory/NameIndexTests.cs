using Loom.Memory;

namespace Loom.Tests.Memory;

/// <summary>The recent story is scanned as its pieces (each turn's input and narrative) without joining them.</summary>
public class NameIndexTests
{
    private static NameIndex Index()
    {
        var index = new NameIndex();
        index.Add("character:mira", ["Mira Vance", "Mira"]);
        index.Add("place:old-mill", ["The Old Mill"]);
        index.Add("character:ødegård", ["Øystein Ødegård"]);
        index.Add("place:tokyo", ["東京"]);
        return index;
    }

    public static TheoryData<string[]> Stories => new()
    {
        { ["I look for Mira.", "Mira Vance is at the OLD MILL, by the water."] },
        // A name split over two pieces (the end of an input, the start of a narrative) is found, as in the joined text.
        { ["We walk to the Old", "Mill. ØYSTEIN ØDEGÅRD waits; mira waves.\r\nThe old mill creaks."] },
        { ["東京に行く", "東京は遠い。Mira", "", "Vance"] },
        { [""] },
        { ["no names here", "none at all"] },
    };

    [Theory]
    [MemberData(nameof(Stories))]
    public void Scanning_the_pieces_finds_what_scanning_them_joined_finds(string[] pieces)
    {
        var index = Index();
        var joined = index.Scan(string.Join("\n", pieces));
        var scanned = index.Scan(pieces);
        Assert.Equal(joined.OrderBy(h => h.Key, StringComparer.Ordinal), scanned.OrderBy(h => h.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Positions_count_terms_across_the_pieces()
    {
        var hits = Index().Scan(["Mira rests.", "Later the old mill burns, and Mira Vance runs."]);
        Assert.Equal(new NameIndex.Hit(3, 0, 8), hits["character:mira"]);
        Assert.Equal(new NameIndex.Hit(1, 3, 3), hits["place:old-mill"]);
    }
}
