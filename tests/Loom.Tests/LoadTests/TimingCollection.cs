namespace Loom.Tests.LoadTests;

/// <summary>
/// Tests that assert on wall-clock pacing run alone: on a 2-core machine a parallel test burning CPU can starve
/// the thread pool long enough to skew a ramp or an injection rate.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "LoadTests timing";
}
