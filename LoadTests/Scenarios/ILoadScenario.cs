using Loom.LoadTests.Reporting;

namespace Loom.LoadTests.Scenarios;

public interface ILoadScenario
{
    string Name { get; }

    /// <summary>One line for --help and the report: what is measured.</summary>
    string Description { get; }

    Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct);
}
