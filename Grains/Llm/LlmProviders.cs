namespace Loom.Llm;

/// <summary>The narrator providers LOOM knows, and the model each uses when none is configured.</summary>
public static class LlmProviders
{
    public const string Offline = "offline";
    public const string OpenAi = "openai";
    public const string Anthropic = "anthropic";
    public const string Ollama = "ollama";

    public const string OfflineModel = "loom-offline-1";

    public static IReadOnlyList<string> All { get; } = [Offline, OpenAi, Anthropic, Ollama];

    public static bool IsSupported(string? provider) =>
        provider is not null && All.Contains(provider, StringComparer.Ordinal);

    /// <summary>Small, cheap defaults: a narrator turn rarely needs a frontier model.</summary>
    public static string DefaultModel(string provider) => provider switch
    {
        Offline => OfflineModel,
        OpenAi => "gpt-4o-mini",
        Anthropic => "claude-3-5-haiku-latest",
        Ollama => "llama3.2",
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown LLM provider."),
    };

    /// <summary>The highest sampling temperature the provider's API takes (Anthropic's scale ends at 1; OpenAI's at 2).</summary>
    public static double MaxTemperature(string provider) => provider == Anthropic ? 1.0 : 2.0;

    /// <summary>The temperature to send <paramref name="provider"/>: a fallback keeps the session's choice, within the
    /// provider's own range (a session's 1.5 for OpenAI would make Anthropic refuse every fallback call).</summary>
    public static double? TemperatureFor(string provider, double? temperature) =>
        temperature is { } t ? Math.Min(t, MaxTemperature(provider)) : null;

    /// <summary>The environment variable each hosted provider's key may come from.</summary>
    public static string? ApiKeyEnvironmentVariable(string provider) => provider switch
    {
        OpenAi => "OPENAI_API_KEY",
        Anthropic => "ANTHROPIC_API_KEY",
        _ => null,
    };
}
