namespace Loom.Llm;

/// <summary>Optional response cache, <c>Loom:Llm:Cache</c>. Off unless enabled; never for temperature &gt; 0 unless allowed.</summary>
public sealed class LlmCacheOptions
{
    public bool Enabled { get; set; }

    /// <summary>Sampled answers differ by design; caching them turns a story into a rerun. Off by default.</summary>
    public bool AllowNonZeroTemperature { get; set; }
}
