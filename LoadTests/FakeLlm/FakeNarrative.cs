using System.Collections.Concurrent;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Loom.LoadTests.FakeLlm;

/// <summary>Deterministic narration for the fake model: words cycled from a fixed text, split into chunks.</summary>
public static class FakeNarrative
{
    private static readonly string[] Words =
        ("The harbour lamps gutter in the salt wind as Mira watches the moored ships. She weighs your words, "
       + "glances at the lighthouse, and answers quietly that the tide will turn before midnight. Somewhere a bell "
       + "rings twice; the dockhands pause, then go back to hauling rope.").Split(' ');

    /// <summary>The memory block the narrator protocol allows at the end of an answer (one upsert, stable content).</summary>
    public const string MemoryBlock =
        "\n\n```loom-memory\n{\"ops\":[{\"op\":\"upsert\",\"type\":\"character\",\"name\":\"Mira\",\"content\":\"a smuggler who watches the harbour\",\"attributes\":{\"mood\":\"wary\"}}]}\n```";

    /// <summary>The answer as <paramref name="chunks"/> pieces whose concatenation is the full text.</summary>
    public static IReadOnlyList<string> Chunks(int tokens, int chunks, bool memoryBlock)
    {
        tokens = Math.Max(1, tokens);
        chunks = Math.Clamp(chunks, 1, tokens);
        var result = new List<string>(chunks);
        var sb = new StringBuilder();
        var w = 0;
        for (var c = 0; c < chunks; c++)
        {
            sb.Clear();
            // Spread the words so chunk sizes differ by at most one.
            var end = (int)((long)tokens * (c + 1) / chunks);
            for (; w < end; w++)
            {
                if (w > 0) sb.Append(' ');
                sb.Append(Words[w % Words.Length]);
            }
            result.Add(sb.ToString());
        }
        if (memoryBlock) result[^1] += MemoryBlock;
        return result;
    }

    private static readonly Lazy<Tokenizer> O200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly ConcurrentDictionary<string, int> Counted = new(StringComparer.Ordinal);

    /// <summary>
    /// Completion tokens of an answer, counted as an OpenAI model of the o200k family (LOOM's own tokenizer) would:
    /// the narrative and its memory block. Answers are few and repeat, so each distinct one is counted once.
    /// </summary>
    public static int CountTokens(IReadOnlyList<string> chunks) =>
        Counted.GetOrAdd(string.Concat(chunks), text => O200k.Value.CountTokens(text));

    /// <summary>A prompt's tokens as an o200k model would count them (not cached: prompts differ every turn).</summary>
    public static int CountPromptTokens(string prompt) => O200k.Value.CountTokens(prompt);

    /// <summary>Rough prompt size in tokens (about four characters per token), for the usage figures.</summary>
    public static int EstimateTokens(int chars) => Math.Max(1, (chars + 3) / 4);
}
