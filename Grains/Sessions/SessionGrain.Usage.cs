using Loom.Budgets;
using Loom.Llm;
using Loom.Storage;
using Loom.Turns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Sessions;

/// <summary>Budgets, owner totals and provider overload handling: kept apart from the turn pipeline.</summary>
public sealed partial class SessionGrain
{
    private BudgetOptions Budgets => _budgets;

    private LlmResilienceOptions Resilience => _resilience;

    /// <summary>An LLM call's usage as the provider reported it in its final chunk, or our estimates (marked) when it did not.</summary>
    private static Usage UsageOf(LlmChunk? final, long estimatedPromptTokens, long estimatedCompletionTokens) => new()
    {
        PromptTokens = final?.PromptTokens ?? estimatedPromptTokens,
        CompletionTokens = final?.CompletionTokens ?? estimatedCompletionTokens,
        CachedTokens = final?.CachedTokens ?? 0,
        Estimated = final?.UsageEstimated ?? true,
        CostUsd = final?.CostUsd ?? 0m,
    };

    /// <summary>Refuses (429) a turn that would pass the owner's caps, before it is queued and so before any LLM call.</summary>
    private Task CheckBudgetAsync() =>
        Budgets.Enabled ? GrainFactory.GetGrain<IOwnerUsageGrain>(S.OwnerId).CheckBudget() : Task.CompletedTask;

    /// <summary>The turn's usage rides in its own commit as a pending row of the owner (folded there in batches).</summary>
    private void StageOwnerUsage(RowUnit unit, TurnView turn)
    {
        if (turn.Status != TurnStatus.Completed) return;
        var owner = GrainFactory.GetGrain<IOwnerUsageGrain>(S.OwnerId).GetGrainId();
        unit.Put(owner, PendingUsage.RowName(PendingUsage.TurnKey(SessionId, turn.TurnId)),
            new PendingUsage { Usage = turn.Usage, At = turn.CompletedAt ?? DateTime.UtcNow });
    }

    /// <summary>Tells the owner at once (in memory, no storage write) so its reads and budget checks include the turn.
    /// The turn and its usage row are already durable, so a failure here is logged, not thrown: the owner folds the row later.</summary>
    private async Task RecordOwnerUsageAsync(TurnView turn)
    {
        if (turn.Status != TurnStatus.Completed) return;
        try
        {
            await GrainFactory.GetGrain<IOwnerUsageGrain>(S.OwnerId).Record(PendingUsage.TurnKey(SessionId, turn.TurnId), turn.Usage);
        }
        catch (Exception ex)
        {
            LogOwnerUsageFailed(ex, SessionId, turn.TurnId);
        }
    }

    /// <summary>Every provider was at its concurrency limit with a full queue: the turn stays queued and runs later.</summary>
    private static bool IsDeferrable(Exception ex) => ex is LlmCallException { Code: LlmErrorCodes.Overloaded };

    /// <summary>
    /// The turn was cut off by the cluster, not failed by the narrator: this activation is stopping, or the LLM
    /// worker's stream was dropped (its silo shutting down or the enumerator expiring). Such a turn is run again,
    /// never marked failed, so a graceful drain or a silo loss costs a player nothing.
    /// </summary>
    private bool IsInterrupted(Exception ex) =>
        _stopping.IsCancellationRequested || ex is EnumerationAbortedException;

    private async Task DeferTurnAsync(TurnRecord queued, Exception ex)
    {
        S.Pending[0] = queued;
        var delay = (ex as LlmCallException)?.RetryAfter ?? Resilience.OverloadRetryDelay;
        LogTurnDeferred(SessionId, queued.Turn.TurnId, delay.TotalMilliseconds);
        Publish(new Events.SessionEvent { Id = "", Type = Events.SessionEventTypes.TurnQueued, TurnId = queued.Turn.TurnId, Turn = queued.Turn });
        await Task.Delay(delay, _stopping.Token);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: could not add turn {TurnId} to the owner's usage")]
    private partial void LogOwnerUsageFailed(Exception ex, string sessionId, string turnId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: narrators overloaded, turn {TurnId} runs again in {DelayMs} ms")]
    private partial void LogTurnDeferred(string sessionId, string turnId, double delayMs);
}
