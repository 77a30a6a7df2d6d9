namespace Loom.LoadTests.Core;

/// <summary>
/// Immutable figures of one step over one phase (NBomber's step statistics). Latencies are of successful calls, in ms;
/// bytes are HTTP payloads (bodies) sent and received by the step.
/// </summary>
public sealed record StepSummary(
    string Step,
    long Count,
    long Ok,
    long Fail,
    long NotAvailable,
    double MeanMs,
    double P50Ms,
    double P75Ms,
    double P95Ms,
    double P99Ms,
    double MaxMs,
    double ElapsedSeconds,
    IReadOnlyDictionary<string, long> Errors)
{
    public double MinMs { get; init; } = double.NaN;

    /// <summary>Population standard deviation of the successful latencies.</summary>
    public double StdDevMs { get; init; } = double.NaN;

    public long BytesSent { get; init; }

    public long BytesReceived { get; init; }

    /// <summary>HTTP status codes of every exchange the step made ("none" when the call got no answer).</summary>
    public IReadOnlyDictionary<string, long> StatusCodes { get; init; } = new Dictionary<string, long>();

    public IReadOnlyList<TimelinePoint> Timeline { get; init; } = [];

    public IReadOnlyList<HistogramBucket> Histogram { get; init; } = [];

    /// <summary>Calls finished per second (ok + failed).</summary>
    public double Rps => ElapsedSeconds > 0 ? (Ok + Fail) / ElapsedSeconds : 0;

    /// <summary>Successful calls per second (TPS when the step is a turn).</summary>
    public double OkPerSecond => ElapsedSeconds > 0 ? Ok / ElapsedSeconds : 0;

    public double ErrorRate => Ok + Fail == 0 ? 0 : (double)Fail / (Ok + Fail);

    /// <summary>True when the target answered that the feature does not exist (404/405 on the route).</summary>
    public bool IsNotAvailable => NotAvailable > 0 && Ok == 0 && Fail == 0;
}
