namespace Loom.Tests.Stubs;

/// <summary>Starts the stub for a provider name and gives the configuration that points LOOM at it.</summary>
public static class ProviderStubs
{
    public static async Task<LlmStubServer> StartAsync(string provider) => provider switch
    {
        "openai" => await OpenAiStubServer.StartAsync(),
        "anthropic" => await AnthropicStubServer.StartAsync(),
        "ollama" => await OllamaStubServer.StartAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(provider)),
    };

    public static Uri EndpointOf(LlmStubServer stub) => stub switch
    {
        OpenAiStubServer openai => openai.Endpoint,
        AnthropicStubServer anthropic => anthropic.Endpoint,
        OllamaStubServer ollama => ollama.Endpoint,
        _ => throw new ArgumentOutOfRangeException(nameof(stub)),
    };

    /// <summary>Settings for <c>Loom:Llm:Providers:&lt;provider&gt;</c> pointing at <paramref name="stub"/>.</summary>
    public static Dictionary<string, string?> Entry(string provider, LlmStubServer stub, string model = "stub-model") => new()
    {
        [$"Loom:Llm:Providers:{provider}:Endpoint"] = EndpointOf(stub).ToString(),
        [$"Loom:Llm:Providers:{provider}:ApiKey"] = provider == "ollama" ? null : $"sk-{provider}-secret-key",
        [$"Loom:Llm:Providers:{provider}:Model"] = model,
    };
}
