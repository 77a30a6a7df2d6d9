namespace Loom.LoadTests.Scenarios;

public static class ScenarioCatalog
{
    /// <summary>Every scenario, in the order <c>all</c> runs them (smoke is for CI and not part of <c>all</c>).</summary>
    public static IReadOnlyList<ILoadScenario> Scenarios { get; } =
    [
        new SessionManagerScenario(),
        new TurnSchedulerScenario(),
        new WorldMemoryScenario(),
        new RulesScenario(),
        new E2eScenario(),
        new OverheadScenario(),
        new SmokeScenario(),
    ];

    public static IReadOnlyCollection<string> Names { get; } = Scenarios.Select(s => s.Name).ToArray();

    public static IReadOnlyList<string> AllNames { get; } = Scenarios.Where(s => s.Name != "smoke").Select(s => s.Name).ToArray();

    public static ILoadScenario Get(string name) => Scenarios.Single(s => s.Name == name);
}
