using Loom.LoadTests.Core;
using Loom.LoadTests.Monitoring;

namespace Loom.LoadTests.Reporting;

public enum CheckStatus { Pass, Fail, NotAvailable }

/// <summary>
/// One comparison against a figure we promised. A <see cref="Gate"/> failing makes the run exit non-zero (smoke, or
/// any target under --strict); other targets are printed for the record.
/// </summary>
public sealed record CheckResult(string Name, string Target, string Measured, CheckStatus Status, bool Gate)
{
    public static CheckResult AtMost(string name, double measured, double limit, Func<double, string> format, bool gate = false) =>
        new(name, "≤ " + format(limit), format(measured),
            double.IsNaN(measured) ? CheckStatus.NotAvailable : measured <= limit ? CheckStatus.Pass : CheckStatus.Fail, gate);

    public static CheckResult AtLeast(string name, double measured, double limit, Func<double, string> format, bool gate = false) =>
        new(name, "≥ " + format(limit), format(measured),
            double.IsNaN(measured) ? CheckStatus.NotAvailable : measured >= limit ? CheckStatus.Pass : CheckStatus.Fail, gate);

    public static CheckResult NotApplicable(string name, string target, string why) => new(name, target, why, CheckStatus.NotAvailable, false);
}

/// <summary>A table as it appears in the report: header cells and rows of already formatted cells.</summary>
public sealed record ReportTable(string Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>Raw figures of one measured phase: every step plus CPU/RSS of the target and of the runner.</summary>
public sealed record PhaseReport(
    string Name,
    string Simulation,
    double ElapsedSeconds,
    long IterationsCompleted,
    long IterationsDropped,
    long IterationsCrashed,
    int PeakConcurrency,
    bool HitHardLimit,
    IReadOnlyList<StepSummary> Steps,
    ProcessUsage? Target,
    ProcessUsage? Runner);

public sealed class ScenarioReport(string name, string description)
{
    public string Name { get; } = name;
    public string Description { get; } = description;
    public List<ReportTable> Tables { get; } = [];
    public List<CheckResult> Checks { get; } = [];
    public List<string> Notes { get; } = [];
    public List<PhaseReport> Phases { get; } = [];

    /// <summary>Set when the scenario could not run at all (for example the world could not be created).</summary>
    public string? Error { get; set; }
}

public sealed class RunReport
{
    public required string Title { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset FinishedAt { get; set; }
    public required string Target { get; init; }
    public required string Llm { get; init; }
    public required string CommandLine { get; init; }
    public string Machine { get; init; } =
        $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    public List<ScenarioReport> Scenarios { get; } = [];

    public bool GatesPassed => Scenarios.All(s => s.Error is null && s.Checks.All(c => !c.Gate || c.Status != CheckStatus.Fail));
}
