using System.Text.RegularExpressions;
using Loom.Canon;

namespace Loom.Tests.Canon;

public class CanonHasherTests
{
    [Fact]
    public void Hash_is_sha256_hex_and_stable_across_crlf_and_file_order()
    {
        var lf = CanonSamples.Files(("a.md", "# World\nx\n"), ("b.md", "# Tone\ny\n"));
        var crlfReordered = CanonSamples.Files(("b.md", "# Tone\r\ny\r\n"), ("a.md", "# World\r\nx\r\n"));

        var hash = CanonHasher.Compute(lf);

        Assert.Matches(new Regex("^sha256:[0-9a-f]{64}$"), hash);
        Assert.Equal(hash, CanonHasher.Compute(crlfReordered));
        Assert.Equal(hash, CanonHasher.Compute(lf));
    }

    [Fact]
    public void Hash_changes_with_content_names_and_file_boundaries()
    {
        var baseline = CanonHasher.Compute(CanonSamples.Files(("a.md", "xy"), ("b.md", "z")));

        Assert.NotEqual(baseline, CanonHasher.Compute(CanonSamples.Files(("a.md", "xy"), ("b.md", "Z"))));
        Assert.NotEqual(baseline, CanonHasher.Compute(CanonSamples.Files(("a.md", "xy"), ("c.md", "z"))));
        Assert.NotEqual(baseline, CanonHasher.Compute(CanonSamples.Files(("a.md", "x"), ("b.md", "yz"))));
        Assert.NotEqual(baseline, CanonHasher.Compute(CanonSamples.Files(("a.md", "xy\n"), ("b.md", "z"))));
    }
}
