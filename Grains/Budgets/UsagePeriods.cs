using System.Globalization;

namespace Loom.Budgets;

/// <summary>
/// An owner's usage by UTC day and month: the budget periods (today, this month) and the days before today that the
/// per-day history keeps. Plain functions over <see cref="OwnerUsageState"/>, so the grain only decides when.
/// </summary>
public static class UsagePeriods
{
    /// <summary>Days of per-day usage an owner keeps (<c>GET /api/usage</c>'s <c>days</c>, the studio's chart).</summary>
    public const int DaysKept = 31;

    /// <summary>
    /// Counts one turn's usage at <paramref name="at"/> in its day and month. A turn folded after its period ended counts
    /// in its own day's history when that day is kept, never in (and never resetting) the current period.
    /// </summary>
    public static void Count(OwnerUsageState state, Sessions.Usage usage, DateTime at)
    {
        var day = DayKey(at);
        var order = string.CompareOrdinal(day, state.Day.Period);
        if (order > 0 && state.Day.Turns > 0) Keep(state, state.Day);
        if (order >= 0) state.Day = Add(Current(state.Day, day), usage);
        else if (state.PastDays.FindIndex(d => d.Period == day) is var index and >= 0) state.PastDays[index] = Add(state.PastDays[index], usage);
        if (string.CompareOrdinal(MonthKey(at), state.Month.Period) >= 0) state.Month = Add(Current(state.Month, MonthKey(at)), usage);
    }

    /// <summary>The kept days within the last <see cref="DaysKept"/>, oldest first, ending with today (empty when unused).</summary>
    public static List<UsagePeriod> RecentDays(OwnerUsageState state, DateTime now)
    {
        var today = DayKey(now);
        var from = DayKey(now.AddDays(-DaysKept));
        var days = state.PastDays.Where(d => string.CompareOrdinal(d.Period, from) > 0).ToList();
        if (state.Day.Period != today && state.Day.Turns > 0 && string.CompareOrdinal(state.Day.Period, from) > 0) days.Add(state.Day);
        days.Add(Current(state.Day, today));
        return days;
    }

    public static UsagePeriod Current(UsagePeriod stored, string key) => stored.Period == key ? stored : new UsagePeriod { Period = key };

    public static string DayKey(DateTime at) => at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string MonthKey(DateTime at) => at.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    private static UsagePeriod Add(UsagePeriod period, Sessions.Usage usage) => period with { Usage = period.Usage.Add(usage), Turns = period.Turns + 1 };

    private static void Keep(OwnerUsageState state, UsagePeriod day)
    {
        state.PastDays.Add(day);
        if (state.PastDays.Count > DaysKept) state.PastDays.RemoveRange(0, state.PastDays.Count - DaysKept);
    }
}
