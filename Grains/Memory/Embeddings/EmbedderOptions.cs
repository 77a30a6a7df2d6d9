namespace Loom.Memory;

/// <summary>
/// The embedder behind vector recall (<c>Loom:Memory:Embedder</c>): <c>hashing</c> (default: lexical, no model, no
/// memory), <c>local</c> (all-MiniLM-L6-v2 in process: recall by meaning, offline), <c>openai</c> (any
/// OpenAI-compatible <c>/v1/embeddings</c>) or <c>ollama</c>. Changing it re-embeds each session's memory as the
/// session next loads (vectors are tagged with the model that made them).
/// </summary>
public sealed class EmbedderOptions
{
    public const string Hashing = "hashing";
    public const string Local = "local";
    public const string OpenAi = "openai";
    public const string Ollama = "ollama";

    public string Provider { get; set; } = Hashing;

    /// <summary>Base URL of a remote embedder (openai: default https://api.openai.com/v1; ollama: default http://127.0.0.1:11434).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The embedding model (required for openai and ollama), e.g. text-embedding-3-small or nomic-embed-text.</summary>
    public string? Model { get; set; }

    public string? ApiKey { get; set; }

    public IEnumerable<string> Validate()
    {
        if (Provider is not (Hashing or Local or OpenAi or Ollama))
            yield return $"Loom:Memory:Embedder:Provider must be {Hashing}, {Local}, {OpenAi} or {Ollama} (got '{Provider}').";
        if (Provider is OpenAi or Ollama && string.IsNullOrWhiteSpace(Model))
            yield return $"Loom:Memory:Embedder:Model is required for the {Provider} embedder.";
        if (Endpoint is { } endpoint && (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https")))
            yield return "Loom:Memory:Embedder:Endpoint must be an absolute http(s) URL.";
    }
}
