using Microsoft.Extensions.Options;

namespace Loom.Llm;

/// <summary>Prices a turn's tokens from <c>Loom:Llm:Pricing</c>.</summary>
public sealed class LlmPricing(IOptions<LlmOptions> options)
{
    private const decimal PerMillion = 1_000_000m;

    /// <summary>Cost in USD (rounded to 1e-8); 0 when neither the model nor the provider's "*" has a price.</summary>
    public decimal Cost(string provider, string model, long promptTokens, long completionTokens, long cachedTokens)
    {
        if (!options.Value.Pricing.TryGetValue(provider, out var models)
            || !(models.TryGetValue(model, out var price) || models.TryGetValue("*", out price)))
        {
            return 0m;
        }

        var cached = Math.Clamp(cachedTokens, 0, promptTokens);
        var cost = ((promptTokens - cached) * price.Input
                    + cached * (price.CachedInput ?? price.Input)
                    + completionTokens * price.Output) / PerMillion;
        return Math.Round(cost, 8, MidpointRounding.AwayFromZero);
    }
}
