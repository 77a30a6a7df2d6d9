using Loom.Budgets;
using Loom.Sessions;

namespace Loom.Tests.Budgets;

/// <summary>Usage per day and month: today and this month for the budgets, the days before kept for the history.</summary>
public sealed class UsagePeriodsTests
{
    private static readonly Usage OneCent = new() { PromptTokens = 100, CompletionTokens = 20, CostUsd = 0.01m };

    private static DateTime At(string day, int hour = 12) => DateTime.Parse(day, System.Globalization.CultureInfo.InvariantCulture).AddHours(hour);

    [Fact]
    public void A_new_day_moves_the_old_one_into_the_history_and_a_late_turn_counts_in_its_own_day()
    {
        var state = new OwnerUsageState();
        UsagePeriods.Count(state, OneCent, At("2026-11-30"));
        UsagePeriods.Count(state, OneCent, At("2026-11-30", 23));
        UsagePeriods.Count(state, OneCent, At("2026-12-01"));
        // A turn of Nov 30 folded late (its usage row arrived after midnight): its day, not today's budget.
        UsagePeriods.Count(state, OneCent, At("2026-11-30", 22));

        Assert.Equal(("2026-12-01", 1), (state.Day.Period, state.Day.Turns));
        Assert.Equal(("2026-12", 1), (state.Month.Period, state.Month.Turns));
        var days = UsagePeriods.RecentDays(state, At("2026-12-01", 18));
        Assert.Equal([("2026-11-30", 3, 0.03m), ("2026-12-01", 1, 0.01m)], days.Select(d => (d.Period, d.Turns, d.Usage.CostUsd)));
    }

    [Fact]
    public void The_history_ends_with_an_empty_today_and_keeps_one_month()
    {
        var state = new OwnerUsageState();
        var first = At("2026-10-01");
        for (var i = 0; i < 40; i++) UsagePeriods.Count(state, OneCent, first.AddDays(i));

        Assert.Equal(UsagePeriods.DaysKept, state.PastDays.Count);
        var now = first.AddDays(41);
        var days = UsagePeriods.RecentDays(state, now);
        Assert.Equal((UsagePeriods.DayKey(now), 0), (days[^1].Period, days[^1].Turns));   // nothing yet today
        Assert.Equal((UsagePeriods.DayKey(first.AddDays(39)), 1), (days[^2].Period, days[^2].Turns)); // yesterday's day, kept
        Assert.All(days, d => Assert.True(string.CompareOrdinal(d.Period, UsagePeriods.DayKey(now.AddDays(-UsagePeriods.DaysKept))) > 0));
        Assert.Equal(days.Select(d => d.Period).Order(StringComparer.Ordinal), days.Select(d => d.Period));
    }
}
