using Loom.Canon;
using Loom.Worlds;

namespace Loom.Tests.Canon;

public class CanonDifferTests
{
    [Fact]
    public void Statuses_cover_added_removed_modified_and_unchanged()
    {
        var from = CanonSamples.Files(("keep.md", "same\n"), ("gone.md", "old\n"), ("edit.md", "a\nb\n"));
        var to = CanonSamples.Files(("keep.md", "same\r\n"), ("new.md", "fresh\n"), ("edit.md", "a\nc\n"));

        var diff = CanonDiffer.Diff(from, to);

        Assert.Equal(["edit.md", "gone.md", "keep.md", "new.md"], diff.Select(d => d.File));
        Assert.Equal([FileDiffStatus.Modified, FileDiffStatus.Removed, FileDiffStatus.Unchanged, FileDiffStatus.Added],
            diff.Select(d => d.Status));
        Assert.Equal("", diff[2].Diff);
        Assert.Equal("--- a/gone.md\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-old\n", diff[1].Diff);
        Assert.Equal("--- /dev/null\n+++ b/new.md\n@@ -0,0 +1,1 @@\n+fresh\n", diff[3].Diff);
    }

    [Fact]
    public void A_file_too_long_to_compare_line_by_line_is_reported_without_text()
    {
        var many = string.Concat(Enumerable.Repeat("a\n", CanonDiffer.MaxDiffLines));
        var other = string.Concat(Enumerable.Repeat("b\n", CanonDiffer.MaxDiffLines));
        var diff = CanonDiffer.Diff(CanonSamples.Files(("big.md", many), ("small.md", "x\n")), CanonSamples.Files(("big.md", other), ("small.md", "y\n")));

        var big = diff.Single(d => d.File == "big.md");
        Assert.Equal((FileDiffStatus.Modified, true, ""), (big.Status, big.TooLarge, big.Diff));
        var small = diff.Single(d => d.File == "small.md");
        Assert.False(small.TooLarge);
        Assert.Contains("-x\n+y\n", small.Diff);
    }

    [Fact]
    public void Modified_file_gives_unified_hunk_with_three_lines_of_context()
    {
        var old = string.Join("\n", Enumerable.Range(1, 10).Select(i => $"line {i}")) + "\n";
        var changed = old.Replace("line 5\n", "line five\n");

        var diff = CanonDiffer.Diff(CanonSamples.Files(("x.md", old)), CanonSamples.Files(("x.md", changed))).Single();

        Assert.Equal(FileDiffStatus.Modified, diff.Status);
        Assert.Equal(
            "--- a/x.md\n+++ b/x.md\n@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n line 7\n line 8\n",
            diff.Diff);
    }

    [Fact]
    public void Distant_changes_make_separate_hunks_and_near_ones_merge()
    {
        var old = string.Join("\n", Enumerable.Range(1, 30).Select(i => $"l{i}")) + "\n";
        var changed = old.Replace("l2\n", "L2\n").Replace("l25\n", "L25\n").Replace("l28\n", "L28\n");

        var text = CanonDiffer.Diff(CanonSamples.Files(("x.md", old)), CanonSamples.Files(("x.md", changed))).Single().Diff;

        Assert.Equal(["@@ -1,5 +1,5 @@", "@@ -22,9 +22,9 @@"], text.Split('\n').Where(l => l.StartsWith("@@")));
    }

    [Fact]
    public void Missing_final_newline_is_marked()
    {
        var text = CanonDiffer.Diff(CanonSamples.Files(("x.md", "a\n")), CanonSamples.Files(("x.md", "a"))).Single().Diff;

        Assert.Equal("--- a/x.md\n+++ b/x.md\n@@ -1,1 +1,1 @@\n-a\n+a\n\\ No newline at end of file\n", text);
    }
}
