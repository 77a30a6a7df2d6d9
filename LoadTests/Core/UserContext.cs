namespace Loom.LoadTests.Core;

/// <summary>What one iteration knows about itself: which virtual user runs it and how many it ran before.</summary>
public sealed record UserContext(int UserIndex, long Iteration, long GlobalIteration, CancellationToken Cancellation);
