using Microsoft.Extensions.Options;

namespace Loom.Prompt;

/// <summary>Token budgets of an assembled prompt, section <c>Loom:Prompt</c>.</summary>
public sealed class PromptOptions
{
    public const string SectionName = "Loom:Prompt";

    /// <summary>Budget for recent turns (newest kept).</summary>
    public int HistoryTokens { get; set; } = 3000;

    /// <summary>Budget for the context message (memory, summaries, tone, intent).</summary>
    public int MemoryTokens { get; set; } = 2000;

    /// <summary>Budget for lore entries (docs/lore.md); a world's <c>loreTokens</c> may lower it, never raise it.</summary>
    public int LoreTokens { get; set; } = 1000;

    /// <summary>Hard ceiling for the whole prompt; history and then context shrink to stay under it.</summary>
    public int MaxPromptTokens { get; set; } = 12000;
}

internal sealed class PromptOptionsValidator : IValidateOptions<PromptOptions>
{
    public ValidateOptionsResult Validate(string? name, PromptOptions options)
    {
        var errors = new List<string>();
        if (options.HistoryTokens < 0)
        {
            errors.Add("Loom:Prompt:HistoryTokens must be 0 or more.");
        }

        if (options.MemoryTokens < 0)
        {
            errors.Add("Loom:Prompt:MemoryTokens must be 0 or more.");
        }

        if (options.LoreTokens < 0)
        {
            errors.Add("Loom:Prompt:LoreTokens must be 0 or more.");
        }

        if (options.MaxPromptTokens < 256)
        {
            errors.Add("Loom:Prompt:MaxPromptTokens must be at least 256.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
