using System.ComponentModel.DataAnnotations;

namespace Loom.Budgets;

/// <summary>Per-owner spending caps, section <c>Loom:Budgets</c> (UTC days and months; unset = no cap).</summary>
public sealed class BudgetOptions
{
    public const string Section = "Loom:Budgets";

    [Range(typeof(decimal), "0", "1000000000")] public decimal? DailyUsd { get; set; }
    [Range(typeof(decimal), "0", "1000000000")] public decimal? MonthlyUsd { get; set; }
    [Range(0, long.MaxValue)] public long? DailyTokens { get; set; }
    [Range(0, long.MaxValue)] public long? MonthlyTokens { get; set; }

    /// <summary>How long an owner keeps turns counted in memory before storing its totals (turns are durable in
    /// their own commits meanwhile, as pending usage rows).</summary>
    public TimeSpan UsageFlushEvery { get; set; } = TimeSpan.FromSeconds(1);

    public bool Enabled => DailyUsd is not null || MonthlyUsd is not null || DailyTokens is not null || MonthlyTokens is not null;

    public BudgetLimits ToLimits() => new() { DailyUsd = DailyUsd, MonthlyUsd = MonthlyUsd, DailyTokens = DailyTokens, MonthlyTokens = MonthlyTokens };
}
