using Loom.Sessions;

namespace Loom.Budgets;

/// <summary>Usage in one budget period (a UTC day "2026-11-29" or month "2026-11").</summary>
[GenerateSerializer, Alias("loom.UsagePeriod")]
public sealed record UsagePeriod
{
    [Id(0)] public string Period { get; init; } = "";
    [Id(1)] public Usage Usage { get; init; } = Usage.Zero;
    [Id(2)] public int Turns { get; init; }

    public long Tokens => Usage.PromptTokens + Usage.CompletionTokens;
}

/// <summary>The configured per-owner caps (null = no cap).</summary>
[GenerateSerializer, Alias("loom.BudgetLimits")]
public sealed record BudgetLimits
{
    [Id(0)] public decimal? DailyUsd { get; init; }
    [Id(1)] public decimal? MonthlyUsd { get; init; }
    [Id(2)] public long? DailyTokens { get; init; }
    [Id(3)] public long? MonthlyTokens { get; init; }
}

/// <summary>API: an owner's LLM usage and cost, all time and in the current budget periods.</summary>
[GenerateSerializer, Alias("loom.OwnerUsage")]
public sealed record OwnerUsage
{
    [Id(0)] public required string OwnerId { get; init; }
    [Id(1)] public Usage Total { get; init; } = Usage.Zero;
    [Id(2)] public int Turns { get; init; }
    [Id(3)] public UsagePeriod Day { get; init; } = new();
    [Id(4)] public UsagePeriod Month { get; init; } = new();
    [Id(5)] public BudgetLimits Budget { get; init; } = new();
    /// <summary>Usage per UTC day over the last month, oldest first, ending with today (days without usage left out).</summary>
    [Id(6)] public List<UsagePeriod> Days { get; init; } = [];
}

/// <summary>One owner's usage totals and budget checks (key: owner id).</summary>
public interface IOwnerUsageGrain : IGrainWithStringKey
{
    /// <summary>Throws 429 budget_exceeded (with Retry-After) when one more turn would pass a cap.</summary>
    [ReadOnly]
    Task CheckBudget();

    /// <summary>Adds a committed turn's usage to the totals in memory (no storage write: the turn's own commit holds
    /// it as a pending usage row, which the owner folds into its stored totals in batches); idempotent per turn key.</summary>
    Task Record(string turnKey, Usage usage);

    [ReadOnly]
    Task<OwnerUsage> Get();
}
