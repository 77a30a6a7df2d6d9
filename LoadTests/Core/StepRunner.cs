using System.Diagnostics;

namespace Loom.LoadTests.Core;

public enum StepStatus { Ok, Failed, NotAvailable, Cancelled }

public readonly record struct StepOutcome<T>(StepStatus Status, T? Value, string? ErrorKind)
{
    public bool IsOk => Status == StepStatus.Ok;
}

/// <summary>Thrown by a step when the target lacks the feature (route answers 404/405); reported as "n/a", not as an error.</summary>
public sealed class NotAvailableException(string message) : Exception(message);

public static class StepRunner
{
    public static async Task<StepOutcome<T>> RunAsync<T>(StepStats stats, Func<CancellationToken, Task<T>> action, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        // The HTTP handler attributes status codes and bytes to the step whose call it carries.
        var outer = StepTraffic.Current;
        StepTraffic.Current = stats;
        try
        {
            var value = await action(ct);
            stats.RecordOk(Stopwatch.GetElapsedTime(start));
            return new StepOutcome<T>(StepStatus.Ok, value, null);
        }
        catch (NotAvailableException)
        {
            stats.RecordNotAvailable();
            return new StepOutcome<T>(StepStatus.NotAvailable, default, "n/a");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The run was stopped (deadline or Ctrl+C): an unfinished call is neither a success nor the target's failure.
            return new StepOutcome<T>(StepStatus.Cancelled, default, "cancelled");
        }
        catch (Exception e)
        {
            var kind = ErrorKinds.Classify(e);
            stats.RecordFail(kind);
            return new StepOutcome<T>(StepStatus.Failed, default, kind);
        }
        finally
        {
            StepTraffic.Current = outer;
        }
    }
}
