using System.Globalization;

namespace Loom.LoadTests.FakeLlm;

/// <summary>
/// The fake model as each provider LOOM supports: the embedded gateway configures all three against the one fake
/// server, each in its own wire format, and prices them (<c>Loom:Llm:Pricing</c>, USD per million tokens) like the
/// models the seed's provider table lists, so cost figures come from the same pricing code as in production.
/// </summary>
public static class FakeProviders
{
    public sealed record Entry(string Provider, string Model, FakeWireFormat Format, decimal InputPerMillion, decimal OutputPerMillion, string PricedLike);

    public static IReadOnlyList<Entry> All { get; } =
    [
        new("openai", "fake-model", FakeWireFormat.OpenAi, 0.50m, 1.50m, "gpt-3.5-turbo"),
        new("anthropic", "fake-claude", FakeWireFormat.Anthropic, 3m, 15m, "claude-3-sonnet"),
        new("ollama", "fake-llama", FakeWireFormat.Ollama, 0m, 0m, "llama2 (local, no price)"),
    ];

    public static Entry? Find(string provider, string model) =>
        All.FirstOrDefault(e => e.Provider == provider && e.Model == model);

    /// <summary>The gateway environment that points every provider at <paramref name="fake"/> and prices its models.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Environment(Uri openAiEndpoint)
    {
        var root = new Uri(openAiEndpoint, "/").ToString();
        foreach (var e in All)
        {
            if (e.Provider != "openai")
            {
                var prefix = $"Loom__Llm__Providers__{e.Provider}__";
                yield return new(prefix + "Endpoint", root.TrimEnd('/'));
                yield return new(prefix + "ApiKey", "fake");
                yield return new(prefix + "Model", e.Model);
            }
            var price = $"Loom__Llm__Pricing__{e.Provider}__{e.Model}__";
            yield return new(price + "Input", e.InputPerMillion.ToString(CultureInfo.InvariantCulture));
            yield return new(price + "Output", e.OutputPerMillion.ToString(CultureInfo.InvariantCulture));
        }
    }
}
