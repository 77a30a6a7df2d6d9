using Microsoft.ML.Tokenizers;

namespace Loom.Text;

/// <summary>o200k_base (GPT-4o family) counts from Microsoft.ML.Tokenizers; the vocabulary ships in a NuGet data package.</summary>
public sealed class TiktokenCounter : ITokenCounter
{
    // Loading the vocabulary takes ~100 ms; the tokenizer is immutable and thread-safe, so share one.
    private static readonly Lazy<Tokenizer> Shared = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public static TiktokenCounter Instance { get; } = new();

    /// <summary>
    /// Loads the vocabulary now. Left to the first count, it ran inside a turn on a grain scheduler thread while every
    /// other first turn of a fresh silo blocked on the same lazy lock: 1.7–3.5 s work items after a failover.
    /// </summary>
    public static void Warm() => _ = Shared.Value;

    public int Count(string text) => string.IsNullOrEmpty(text) ? 0 : Shared.Value.CountTokens(text);
}
