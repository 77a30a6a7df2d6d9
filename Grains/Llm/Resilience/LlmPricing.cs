using Microsoft.Extensions.Options;

namespace Loom.Llm;

/// <summary>Prices a turn's tokens from <c>Loom:Llm:Pricing</c>.</summary>
public sealed class LlmPricing(IOptions<LlmOptions> options)
{
    private const decimal PerMillion = 1_000_000m;

    /// <summary>
    /// Cost in USD (rounded to 1e-8) under the first of <paramref name="models"/> that has a price, else the provider's "*". A provider names the
    /// snapshot that answered (<c>gpt-4o-mini-2024-07-18</c> for <c>gpt-4o-mini</c>), so the model asked for comes first:
    /// priced by the answer's name alone, a turn cost nothing and budgets in USD never filled. 0 without any price.
    /// </summary>
    public decimal Cost(string provider, IReadOnlyList<string?> models, long promptTokens, long completionTokens, long cachedTokens)
    {
        if (!options.Value.Pricing.TryGetValue(provider, out var prices)) return 0m;
        ModelPrice? price = null;
        foreach (var model in models)
        {
            if (model is not null && prices.TryGetValue(model, out price)) break;
        }
        if (price is null && !prices.TryGetValue("*", out price)) return 0m;

        var cached = Math.Clamp(cachedTokens, 0, promptTokens);
        var cost = ((promptTokens - cached) * price.Input
                    + cached * (price.CachedInput ?? price.Input)
                    + completionTokens * price.Output) / PerMillion;
        return Math.Round(cost, 8, MidpointRounding.AwayFromZero);
    }
}
