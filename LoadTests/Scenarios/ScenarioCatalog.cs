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
        new E2eScenario("e2e", new E2eTargets(100, Targets.Tps100Users, Targets.P95Over100UsersMs, Targets.Rss100UsersMb), singleSessionFirst: true),
        new E2eScenario("e2e-1000", new E2eTargets(1000, Targets.Tps1000Sessions, Targets.P95Over1000SessionsMs, Targets.Rss1000SessionsMb), singleSessionFirst: false),
        new OverheadScenario(),
        new KpisScenario(),
        new ProvidersScenario(),
        new WorkflowScenario(),
        new IdleSessionsScenario(),
        new SmokeScenario(),
        new MultiplayerScenario(),
        new Roll.RollScenario(),
    ];

    public static IReadOnlyCollection<string> Names { get; } = Scenarios.Select(s => s.Name).ToArray();

    public static IReadOnlyList<string> AllNames { get; } = Scenarios.Where(s => s.Name is not ("smoke" or "multiplayer" or "roll")).Select(s => s.Name).ToArray();

    public static ILoadScenario Get(string name) => Scenarios.Single(s => s.Name == name);
}
