namespace Loom.LoadTests.Core;

/// <summary>The steps of one phase, in the order they were first used.</summary>
public sealed class StepRecorder
{
    /// <summary>Every step's timeline counts seconds from here: the recorder is made when its phase starts.</summary>
    private readonly long _origin = System.Diagnostics.Stopwatch.GetTimestamp();
    private readonly List<StepStats> _ordered = [];
    private readonly Dictionary<string, StepStats> _byName = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public StepStats this[string name]
    {
        get
        {
            lock (_gate)
            {
                if (!_byName.TryGetValue(name, out var stats))
                {
                    stats = new StepStats(name, _origin);
                    _byName.Add(name, stats);
                    _ordered.Add(stats);
                }
                return stats;
            }
        }
    }

    public IReadOnlyList<StepStats> All
    {
        get { lock (_gate) return _ordered.ToArray(); }
    }

    public IReadOnlyList<StepSummary> Summarise(TimeSpan elapsed) => All.Select(s => s.Summarise(elapsed)).ToArray();

    /// <summary>Runs <paramref name="action"/> as the step <paramref name="name"/>, timing it and classifying failures.</summary>
    public Task<StepOutcome<T>> RunAsync<T>(string name, Func<CancellationToken, Task<T>> action, CancellationToken ct) =>
        StepRunner.RunAsync(this[name], action, ct);
}
