using System.Globalization;
using Loom.Errors;
using Loom.Sessions;
using Loom.Storage;
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
    /// <summary>Days before <see cref="Day"/> with usage, oldest first (at most <see cref="UsagePeriods.DaysKept"/>).</summary>
    [Id(5)] public List<UsagePeriod> PastDays { get; set; } = [];
}

/// <summary>
/// An owner's usage totals and budget periods. "Would exceed" means: spent so far in the period plus the
/// period's average turn is over the cap (the first turn of a period is always allowed under a positive cap).
/// <para>
/// Nothing here is on a turn's storage path: each turn commits its usage as a pending row under this owner's key,
/// then tells this grain, which adds it in memory (so budget checks and reads see it at once) and stores its totals
/// at most once per <see cref="BudgetOptions.UsageFlushEvery"/>, deleting the folded rows in the same transaction. Rows whose
/// <see cref="Record"/> never arrived are folded on activation and at the next flush.
/// </para>
/// </summary>
public sealed class OwnerUsageGrain(
    IGrainRowStore rows,
    IOptions<BudgetOptions> budgets,
    TimeProvider clock) : Grain, IOwnerUsageGrain
{
    private const int RememberedTurns = 512;
    private const string HeaderRow = "usage";

    private GrainRows<OwnerUsageState> _state = null!;
    /// <summary>Turn keys counted in memory whose pending rows are not folded into the stored totals yet.</summary>
    private readonly HashSet<string> _unflushed = new(StringComparer.Ordinal);
    private IGrainTimer? _flush;

    private OwnerUsageState S => _state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _state = new GrainRows<OwnerUsageState>(rows, this.GetGrainId(), HeaderRow);
        await _state.ReadHeaderAsync();
        await FlushAsync();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unflushed.Count > 0) await FlushAsync();
    }

    public Task CheckBudget()
    {
        var limits = budgets.Value;
        if (!limits.Enabled) return Task.CompletedTask;

        var now = clock.GetUtcNow().UtcDateTime;
        var day = UsagePeriods.Current(S.Day, UsagePeriods.DayKey(now));
        var month = UsagePeriods.Current(S.Month, UsagePeriods.MonthKey(now));
        var nextDay = now.Date.AddDays(1);
        var nextMonth = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);

        Refuse(day, limits.DailyUsd, limits.DailyTokens, "daily", nextDay, now);
        Refuse(month, limits.MonthlyUsd, limits.MonthlyTokens, "monthly", nextMonth, now);
        return Task.CompletedTask;
    }

    public Task Record(string turnKey, Usage usage)
    {
        if (Count(turnKey, usage, clock.GetUtcNow().UtcDateTime))
        {
            _unflushed.Add(turnKey);
            _flush ??= this.RegisterGrainTimer(FlushOnTimerAsync, budgets.Value.UsageFlushEvery, Timeout.InfiniteTimeSpan);
        }
        return Task.CompletedTask;
    }

    public Task<OwnerUsage> Get()
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return Task.FromResult(new OwnerUsage
        {
            OwnerId = this.GetPrimaryKeyString(),
            Total = S.Total,
            Turns = S.Turns,
            Day = UsagePeriods.Current(S.Day, UsagePeriods.DayKey(now)),
            Month = UsagePeriods.Current(S.Month, UsagePeriods.MonthKey(now)),
            Budget = budgets.Value.ToLimits(),
            Days = UsagePeriods.RecentDays(S, now),
        });
    }

    private async Task FlushOnTimerAsync(CancellationToken cancellationToken)
    {
        _flush?.Dispose();
        _flush = null;
        await FlushAsync();
    }

    /// <summary>Folds every pending row (counting those no <see cref="Record"/> brought), then stores the totals and
    /// deletes the folded rows in one transaction. On failure the rows stay and the next flush tries again.</summary>
    private async Task FlushAsync()
    {
        var pending = await rows.ListAsync(_state.Grain, PendingUsage.RowPrefix);
        var keys = new HashSet<string>(_unflushed, StringComparer.Ordinal);
        foreach (var row in pending)
        {
            var key = row.Name[PendingUsage.RowPrefix.Length..];
            var usage = rows.Deserialize<PendingUsage>(row.Payload!);
            Count(key, usage.Usage, usage.At);
            keys.Add(key);
        }
        if (keys.Count == 0) return;
        var unit = _state.Begin();
        foreach (var key in keys) unit.Delete(PendingUsage.RowName(key));
        await _state.CommitAsync(unit);
        _unflushed.ExceptWith(keys);
    }

    /// <summary>Adds a turn once: false when this turn key was already counted.</summary>
    private bool Count(string turnKey, Usage usage, DateTime at)
    {
        if (_unflushed.Contains(turnKey) || S.RecentTurnIds.Contains(turnKey)) return false;
        S.Total = S.Total.Add(usage);
        S.Turns++;
        UsagePeriods.Count(S, usage, at);
        S.RecentTurnIds.Add(turnKey);
        if (S.RecentTurnIds.Count > RememberedTurns) S.RecentTurnIds.RemoveRange(0, S.RecentTurnIds.Count - RememberedTurns);
        return true;
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
}
