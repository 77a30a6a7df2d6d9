namespace Loom.Tests.Canon;

/// <summary>Small canons shared by the canon and world tests.</summary>
internal static class CanonSamples
{
    public const string Long = "The valley is long and hazed with smoke; its people heat their homes with glowing glass.";

    public const string WorldFile = """
        ---
        title: Test Vale
        version: 1.0.0
        author: Tester
        ---

        # World

        The valley is long and hazed with smoke; its people heat their homes with glowing glass.

        ## Places

        Kilnmouth, a walled mining town, and Hearthford, a market town at the river ford.

        # Tone

        Warm hearths against a gathering cold; grounded, intimate, slightly melancholy.
        """;

    public static Dictionary<string, string> Files(params (string Name, string Text)[] files) =>
        files.ToDictionary(f => f.Name, f => f.Text, StringComparer.Ordinal);

    public static Loom.Worlds.CanonSubmission Valid(string? title = null) =>
        new() { Title = title, Files = Files(("world.md", WorldFile)) };
}
