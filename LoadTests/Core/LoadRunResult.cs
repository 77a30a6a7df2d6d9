namespace Loom.LoadTests.Core;

public sealed record LoadRunResult(
    TimeSpan Elapsed,
    long IterationsStarted,
    long IterationsCompleted,
    long IterationsDropped,
    long IterationsCrashed,
    int PeakConcurrency,
    bool HitHardLimit);
