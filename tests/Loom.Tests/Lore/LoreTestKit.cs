using Loom.Worlds;
using Loom.Lore;
using Loom.Prompt;
using Loom.Text;
using Loom.Turns;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Lore;

/// <summary>Builds lore books from front matter text and runs the planner over a scripted story.</summary>
internal static class LoreTestKit
{
    public static LorePlanner Planner(int budget = 1000) =>
        new(Options.Create(new PromptOptions { LoreTokens = budget }), TiktokenCounter.Instance);

    /// <summary>One entry from its front matter lines and text.</summary>
    public static LoreEntry Entry(string name, string frontMatter, string text = "")
    {
        List<CanonIssue> errors = [], warnings = [];
        var entry = LoreFiles.Read($"lore/{name}.md", $"---\n{frontMatter}\n---\n{(text.Length > 0 ? text : $"Lore about {name}.")}\n", errors, warnings);
        Assert.True(errors.Count == 0, string.Join("; ", errors.Select(e => e.Message)));
        return entry!;
    }

    public static LoreBook Book(params LoreEntry[] entries) => new() { Entries = entries };

    /// <summary>A scan where <paramref name="messages"/> are newest first (the input first).</summary>
    public static LoreScan Scan(int seq, string[] messages, IReadOnlyList<TurnView>? earlier = null, string session = "s1") =>
        new() { SessionId = session, Seq = seq, Messages = messages, Earlier = earlier ?? [] };

    public static TurnView Turn(int seq, params LoreFired[] lore) =>
        new() { TurnId = $"t{seq}", Seq = seq, Input = "", Status = TurnStatus.Completed, Lore = [.. lore] };

    public static LoreFired Fired(string name, string reason = LoreReasons.Key) => new() { Entry = $"lore/{name}.md", Reason = reason };

    public static string[] Names(this LorePlacement placement) =>
        placement.Fired.Select(f => Path.GetFileNameWithoutExtension(f.Entry)).Order(StringComparer.Ordinal).ToArray();
}
