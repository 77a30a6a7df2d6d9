using Loom.LoadTests.Core;
using Loom.LoadTests.Monitoring;

namespace Loom.LoadTests.Reporting;

public enum CheckStatus { Pass, Fail, NotAvailable }

/// <summary>
/// One comparison against a figure we promised, printed beside its physical <see cref="Bound"/> (the best any engine
/// could do under the same load, e.g. users / L for TPS, or "–" when none applies). A <see cref="Gate"/> failing makes
/// the run exit non-zero (smoke, or any target under --strict); other targets are printed for the record. The raw
/// numbers are kept for the charts (NaN when not measured or not numeric).
/// </summary>
public sealed record CheckResult(string Name, string Target, string Measured, CheckStatus Status, bool Gate)
{
    public string Bound { get; init; } = "–";
    public double MeasuredValue { get; init; } = double.NaN;
    public double TargetValue { get; init; } = double.NaN;
    public double BoundValue { get; init; } = double.NaN;

    /// <summary>"ms", "TPS", "MB", ...: the unit the three values share, for the chart's axis.</summary>
    public string Unit { get; init; } = "";

    public static CheckResult AtMost(string name, double measured, double limit, Func<double, string> format, bool gate = false, double bound = double.NaN, string unit = "") =>
        new(name, "≤ " + format(limit), Shown(measured, limit, format, unit), Judge(measured, m => m <= limit), gate)
        { Bound = double.IsNaN(bound) ? "–" : format(bound), MeasuredValue = measured, TargetValue = limit, BoundValue = bound, Unit = unit };

    public static CheckResult AtLeast(string name, double measured, double limit, Func<double, string> format, bool gate = false, double bound = double.NaN, string unit = "") =>
        new(name, "≥ " + format(limit), Shown(measured, limit, format, unit), Judge(measured, m => m >= limit), gate)
        { Bound = double.IsNaN(bound) ? "–" : format(bound), MeasuredValue = measured, TargetValue = limit, BoundValue = bound, Unit = unit };

    public static CheckResult NotApplicable(string name, string target, string why) => new(name, target, why, CheckStatus.NotAvailable, false);

    /// <summary>
    /// The measured cell; when it would print the same as the limit it does not equal (2.001 against 2 ms reads
    /// "2.0 ms · miss"), the exact figure follows it so the verdict can be read off the cell.
    /// </summary>
    private static string Shown(double measured, double limit, Func<double, string> format, string unit)
    {
        var shown = format(measured);
        return measured != limit && !double.IsNaN(measured) && shown == format(limit)
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{shown} ({measured:0.######}{(unit.Length > 0 ? " " + unit : "")})")
            : shown;
    }

    private static CheckStatus Judge(double measured, Func<double, bool> passes) =>
        double.IsNaN(measured) ? CheckStatus.NotAvailable : passes(measured) ? CheckStatus.Pass : CheckStatus.Fail;

    public string Verdict => Status switch
    {
        CheckStatus.Pass => "pass",
        CheckStatus.Fail => Gate ? "FAIL (gate)" : "miss",
        _ => "n/a",
    };
}

/// <summary>A table as it appears in the report: header cells and rows of already formatted cells.</summary>
public sealed record ReportTable(string Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>Raw figures of one measured phase: every step plus CPU/RSS of the target (summed over its processes) and of the runner.</summary>
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
    ProcessUsage? Runner)
{
    /// <summary>Each watched LOOM process (one for the embedded gateway, several for a cluster); <see cref="Target"/> is their sum.</summary>
    public IReadOnlyList<ProcessUsage> TargetProcesses { get; init; } = [];

    /// <summary>CPU and RSS of the watched processes, about once a second, in <see cref="TargetProcesses"/> order.</summary>
    public IReadOnlyList<ResourceSample> TargetTimeline { get; init; } = [];
}

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

    /// <summary>The targets that were judged (a figure that could not be measured is neither met nor missed).</summary>
    public int TargetsJudged => Scenarios.Sum(s => s.Checks.Count(c => c.Status != CheckStatus.NotAvailable));

    public int TargetsMissed => Scenarios.Sum(s => s.Checks.Count(c => c.Status == CheckStatus.Fail));

    /// <summary>
    /// The run's verdict in words. Only gates decide the exit code (smoke's, or every target under --strict), so "all
    /// gates passed" alone read as a clean run beside a table of misses; the count of missed targets says otherwise.
    /// </summary>
    public string Result =>
        (GatesPassed ? "all gates passed" : "a gate failed")
        + (TargetsJudged == 0 ? "" : TargetsMissed == 0 ? $"; all {TargetsJudged} targets met" : $"; {TargetsMissed} of {TargetsJudged} targets missed");
}
