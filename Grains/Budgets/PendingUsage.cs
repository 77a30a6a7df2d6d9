using Loom.Sessions;

namespace Loom.Budgets;

/// <summary>
/// A committed turn's usage, written under the owner's grain key in the turn's own transaction
/// ("usage.turn.{turnKey}"). The owner folds these rows into its totals and deletes them in one commit, so a turn
/// is counted exactly once even if the owner's activation is lost before it stores its totals.
/// </summary>
[GenerateSerializer, Alias("loom.PendingUsage")]
public sealed record PendingUsage
{
    public const string RowPrefix = "usage.turn.";

    [Id(0)] public required Usage Usage { get; init; }

    /// <summary>When the turn completed: the budget day and month it counts in.</summary>
    [Id(1)] public DateTime At { get; init; }

    public static string RowName(string turnKey) => RowPrefix + turnKey;

    /// <summary>Unique across sessions (turn ids are unique only within their session).</summary>
    public static string TurnKey(string sessionId, string turnId) => $"{sessionId}.{turnId}";

    /// <summary>A rework's run (regenerate, continue, resend) keeps its turn's id, so it is keyed by when it was accepted
    /// too: under the turn's own key the owner took it for the first run again and never counted it.</summary>
    public static string ReworkKey(string sessionId, string turnId, DateTime acceptedAt) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{sessionId}.{turnId}.{acceptedAt.Ticks}");
}
