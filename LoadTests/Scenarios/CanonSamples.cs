using System.Text;

namespace Loom.LoadTests.Scenarios;

/// <summary>Deterministic canon Markdown for the scenarios: a small world, and worlds padded to a given size.</summary>
public static class CanonSamples
{
    public static IReadOnlyDictionary<string, string> SmallWorld() => new Dictionary<string, string>
    {
        ["world.md"] = """
            ---
            version: 1
            author: loom-loadtests
            ---
            # World (世界观)
            A harbour town on a cold northern sea. Smugglers trade by night; the lighthouse keeper sees everything.

            # Tone (叙事基调)
            Quiet, tense, salt-stained. Short sentences.

            # Conflict
            The customs captain wants the smugglers' ledger; Mira wants to keep her ship.
            """,
    };

    /// <summary>A valid canon of about <paramref name="bytes"/> UTF-8 bytes: world and tone, then custom sections of lore.</summary>
    public static IReadOnlyDictionary<string, string> OfSize(int bytes)
    {
        var sb = new StringBuilder(bytes + 512);
        sb.Append(SmallWorld()["world.md"]).Append('\n');
        // The padding is ASCII, so its byte count is its length: no re-encoding of the whole text per section.
        // The result is exactly `bytes` long (when that exceeds the base world), so "1 MB" stays within a 1 MiB file limit.
        var size = Encoding.UTF8.GetByteCount(sb.ToString());
        var section = new StringBuilder();
        for (var n = 1; ; n++)
        {
            section.Clear();
            section.Append("\n# Lore ").Append(n).Append("\n\n");
            for (var p = 0; p < 4; p++)
                section.Append("District ").Append(n).Append(" keeps its own customs: lanterns are hung at dusk, debts are settled at the tide mark, ")
                       .Append("and strangers are asked their name twice before they are served. Paragraph ").Append(p + 1).Append(".\n\n");
            if (size + section.Length > bytes) break;
            sb.Append(section);
            size += section.Length;
        }
        const string filler = "salt rope tide lantern ";
        for (; size < bytes; size++) sb.Append(size == bytes - 1 ? '\n' : filler[size % filler.Length]);
        return new Dictionary<string, string> { ["world.md"] = sb.ToString() };
    }
}
