namespace Loom.LoadTests.FakeLlm;

/// <summary>
/// How the fake model answers. <see cref="Latency"/> is the time from request to the last token; the first chunk is
/// sent after <see cref="TimeToFirstToken"/> and the rest are spread evenly up to <see cref="Latency"/>. When
/// <see cref="TokensPerSecond"/> is set it paces the chunks instead and the latency follows from it. Prompt tokens are
/// reported as characters ÷ 4 unless <see cref="ExactPromptTokens"/> asks for an o200k count (costs the runner CPU).
/// </summary>
public sealed record FakeLlmBehaviour(
    TimeSpan Latency,
    TimeSpan TimeToFirstToken,
    double? TokensPerSecond = null,
    int CompletionTokens = 48,
    int Chunks = 8,
    bool IncludeMemoryBlock = true,
    bool ExactPromptTokens = false)
{
    public static FakeLlmBehaviour ForLatency(TimeSpan latency) =>
        new(latency, TimeSpan.FromTicks(Math.Min(latency.Ticks, TimeSpan.FromMilliseconds(200).Ticks)));

    public int EffectiveChunks => Math.Clamp(Chunks, 1, Math.Max(1, CompletionTokens));

    /// <summary>When chunk <paramref name="index"/> is due, measured from the request's arrival.</summary>
    public TimeSpan ChunkDueAt(int index)
    {
        var n = EffectiveChunks;
        var ttft = TimeToFirstToken < TimeSpan.Zero ? TimeSpan.Zero : TimeToFirstToken;
        if (index <= 0 || n == 1) return index <= 0 ? ttft : Max(ttft, Latency);
        if (TokensPerSecond is > 0 and var rate)
        {
            var tokensPerChunk = (double)CompletionTokens / n;
            return ttft + TimeSpan.FromSeconds(index * tokensPerChunk / rate);
        }
        var spread = Latency - ttft;
        return spread <= TimeSpan.Zero ? ttft : ttft + spread * index / (n - 1);
    }

    public TimeSpan TotalTime => ChunkDueAt(EffectiveChunks - 1);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
