using Loom.Tests.Api;
using Loom.Tests.Stubs;

namespace Loom.Tests.Providers;

/// <summary>
/// The gateway with openai (primary) → anthropic → ollama, all three pointing at loopback stub servers, with
/// fast resilience timings and a pricing table. Subclasses add settings (budgets, breaker).
/// </summary>
public class ProviderAppFixture : IAsyncLifetime
{
    public OpenAiStubServer OpenAi { get; private set; } = null!;
    public AnthropicStubServer Anthropic { get; private set; } = null!;
    public OllamaStubServer Ollama { get; private set; } = null!;
    public LoomAppFactory App { get; private set; } = null!;

    protected virtual void Tune(Dictionary<string, string?> settings)
    {
    }

    public async Task InitializeAsync()
    {
        OpenAi = await OpenAiStubServer.StartAsync();
        Anthropic = await AnthropicStubServer.StartAsync();
        Ollama = await OllamaStubServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Loom:Llm:Provider"] = "openai",
            ["Loom:Llm:Endpoint"] = OpenAi.Endpoint.ToString(),
            ["Loom:Llm:ApiKey"] = "sk-openai-secret-key",
            ["Loom:Llm:Model"] = "stub-model",
            ["Loom:Llm:Models:0"] = "stub-model",
            ["Loom:Llm:Models:1"] = "stub-model-large",
            // Generous: the first call of each SDK pays for JIT on a busy 2-core machine.
            ["Loom:Llm:RequestTimeout"] = "00:00:10",
            ["Loom:Llm:Resilience:Fallbacks:0"] = "anthropic",
            ["Loom:Llm:Resilience:Fallbacks:1"] = "ollama",
            ["Loom:Llm:Resilience:MaxRetries"] = "1",
            ["Loom:Llm:Resilience:RetryBaseDelay"] = "00:00:00.020",
            ["Loom:Llm:Resilience:AttemptTimeout"] = "00:00:10",
            ["Loom:Llm:Resilience:BreakerMinimumThroughput"] = "1000",
            ["Loom:Llm:Resilience:OverloadRetryDelay"] = "00:00:00.200",
            ["Loom:Llm:Pricing:openai:stub-model:Input"] = "2.5",
            ["Loom:Llm:Pricing:openai:stub-model:Output"] = "10",
            ["Loom:Llm:Pricing:openai:stub-model:CachedInput"] = "1.25",
            ["Loom:Llm:Pricing:anthropic:*:Input"] = "1",
            ["Loom:Llm:Pricing:anthropic:*:Output"] = "5",
        };
        foreach (var (k, v) in ProviderStubs.Entry("anthropic", Anthropic)) settings[k] = v;
        foreach (var (k, v) in ProviderStubs.Entry("ollama", Ollama)) settings[k] = v;
        Tune(settings);
        App = LoomAppFactory.With(null, settings);
        _ = App.Server; // start now, so the first test does not pay for it inside its own timeouts
        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        await OpenAi.DisposeAsync();
        await Anthropic.DisposeAsync();
        await Ollama.DisposeAsync();
    }

    /// <summary>Default reply for every stub: the usual short answer with usage (11 prompt, 7 completion, 3 cached).</summary>
    public void Reset()
    {
        OpenAi.Default = new StubReply();
        Anthropic.Default = new StubReply();
        Ollama.Default = new StubReply();
        OpenAi.Responder = Anthropic.Responder = Ollama.Responder = null;
    }
}
