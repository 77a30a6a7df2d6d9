using System.Globalization;
using Loom.Errors;
using Loom.Sessions;
using Microsoft.Extensions.Options;

namespace Loom.Budgets;

[GenerateSerializer, Alias("loom.OwnerUsageState")]
public sealed class OwnerUsageState
{
    [Id(0)] public Usage Total { get; set; } = Usage.Zero;
    [Id(1)] public int Turns { get; set; }
    [Id(2)] public UsagePeriod Day { get; set; } = new();
    [Id(3)] public UsagePeriod Month { get; set; } = new();
    /// <summary>Recently recorded turn ids, so a repeated Record (a retried commit) is not counted twice.</summary>
    [Id(4)] public List<string> RecentTurnIds { get; set; } = [];
}

/// <summary>
/// An owner's usage totals and budget periods. "Would exceed" means: spent so far in the period plus the
/// period's average turn is over the cap (the first turn of a period is always allowed under a positive cap).
/// </summary>
public sealed class OwnerUsageGrain(
    [PersistentState("usage", "loom")] IPersistentState<OwnerUsageState> state,
    IOptions<BudgetOptions> budgets,
    TimeProvider clock) : Grain, IOwnerUsageGrain
{
    private const int RememberedTurns = 512;

    private OwnerUsageState S => state.State;

    public Task CheckBudget()
    {
        var limits = budgets.Value;
        if (!limits.Enabled) return Task.CompletedTask;

        var now = clock.GetUtcNow().UtcDateTime;
        var day = Current(S.Day, DayKey(now));
        var month = Current(S.Month, MonthKey(now));
        var nextDay = now.Date.AddDays(1);
        var nextMonth = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);

        Refuse(day, limits.DailyUsd, limits.DailyTokens, "daily", nextDay, now);
        Refuse(month, limits.MonthlyUsd, limits.MonthlyTokens, "monthly", nextMonth, now);
        return Task.CompletedTask;
    }

    public async Task Record(string turnId, Usage usage)
    {
        if (S.RecentTurnIds.Contains(turnId)) return;
        var now = clock.GetUtcNow().UtcDateTime;
        S.Total = S.Total.Add(usage);
        S.Turns++;
        S.Day = Add(Current(S.Day, DayKey(now)), usage);
        S.Month = Add(Current(S.Month, MonthKey(now)), usage);
        S.RecentTurnIds.Add(turnId);
        if (S.RecentTurnIds.Count > RememberedTurns) S.RecentTurnIds.RemoveRange(0, S.RecentTurnIds.Count - RememberedTurns);
        await state.WriteStateAsync();
    }

    public Task<OwnerUsage> Get()
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return Task.FromResult(new OwnerUsage
        {
            OwnerId = this.GetPrimaryKeyString(),
            Total = S.Total,
            Turns = S.Turns,
            Day = Current(S.Day, DayKey(now)),
            Month = Current(S.Month, MonthKey(now)),
            Budget = budgets.Value.ToLimits(),
        });
    }

    private static void Refuse(UsagePeriod period, decimal? usdCap, long? tokenCap, string name, DateTime resetsAt, DateTime now)
    {
        var averageCost = period.Turns > 0 ? period.Usage.CostUsd / period.Turns : 0m;
        var averageTokens = period.Turns > 0 ? period.Tokens / period.Turns : 0L;
        var retryAfter = (int)Math.Ceiling((resetsAt - now).TotalSeconds);
        if (usdCap is { } usd && (period.Usage.CostUsd >= usd || period.Usage.CostUsd + averageCost > usd))
        {
            throw Problems.TooMany("budget_exceeded",
                string.Create(CultureInfo.InvariantCulture,
                    $"The {name} spending cap of ${usd} would be exceeded (${period.Usage.CostUsd:0.######} spent in {period.Period}); it resets at {resetsAt:yyyy-MM-ddTHH:mm:ssZ}."),
                retryAfter);
        }
        if (tokenCap is { } tokens && (period.Tokens >= tokens || period.Tokens + averageTokens > tokens))
        {
            throw Problems.TooMany("budget_exceeded",
                string.Create(CultureInfo.InvariantCulture,
                    $"The {name} token cap of {tokens} would be exceeded ({period.Tokens} used in {period.Period}); it resets at {resetsAt:yyyy-MM-ddTHH:mm:ssZ}."),
                retryAfter);
        }
    }

    private static UsagePeriod Current(UsagePeriod stored, string key) => stored.Period == key ? stored : new UsagePeriod { Period = key };

    private static UsagePeriod Add(UsagePeriod period, Usage usage) => period with { Usage = period.Usage.Add(usage), Turns = period.Turns + 1 };

    private static string DayKey(DateTime now) => now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string MonthKey(DateTime now) => now.ToString("yyyy-MM", CultureInfo.InvariantCulture);
}
