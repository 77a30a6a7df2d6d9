using System.Diagnostics.Metrics;

namespace Loom.Telemetry;

/// <summary>
/// What the storage layer asks of its database, counted where it asks (the grain storage provider and the row
/// store), per process: the figures behind the seed's "disk IO &lt; 100 IOPS" and bytes written per turn.
/// The hot path is one interlocked add on a fixed slot; the totals are observed at scrape time, so every
/// operation's series exists at zero from start-up.
/// </summary>
public sealed class StorageMetrics
{
    private static readonly string[] OperationNames = ["read", "list", "write", "clear", "transaction", "checkpoint"];

    private readonly long[] _operations = new long[OperationNames.Length];
    private long _bytesWritten;
    private readonly Histogram<double> _transactionDuration;

    public StorageMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(LoomTelemetry.MeterName);
        meter.CreateObservableCounter("loom_storage_operations", ObserveOperations, null,
            "Database operations of the storage layer: read, list (grain rows), write and clear (grain state), transaction (row-store commits; a group commit counts once), checkpoint (SQLite write-ahead log copied into the database, off the commit path).");
        meter.CreateObservableCounter("loom_storage_bytes_written", () => Interlocked.Read(ref _bytesWritten), null,
            "Payload bytes the storage layer wrote (grain state and rows; not keys, indexes or the database's own journal).");
        _transactionDuration = meter.CreateHistogram("loom_storage_transaction_duration", "s",
            "Time from sending a row-store transaction until the database reported it durable, as this process saw it (a group commit counts once).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LoomMetrics.StageDurationBuckets });
    }

    /// <summary>The <c>operation</c> label values, in a fixed order.</summary>
    public static IReadOnlyList<string> Operations => OperationNames;

    public long OperationCount(StorageOperation operation) => Interlocked.Read(ref _operations[(int)operation]);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public void Operation(StorageOperation operation) => Interlocked.Increment(ref _operations[(int)operation]);

    /// <summary>One row-store transaction, from sending it to its durable commit.</summary>
    public void TransactionTook(double seconds) => _transactionDuration.Record(seconds);

    public void Written(long bytes)
    {
        if (bytes > 0) Interlocked.Add(ref _bytesWritten, bytes);
    }

    private IEnumerable<Measurement<long>> ObserveOperations()
    {
        for (var i = 0; i < OperationNames.Length; i++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref _operations[i]), new KeyValuePair<string, object?>("operation", OperationNames[i]));
        }
    }
}

/// <summary>One round of work the storage layer asks its database for (the <c>operation</c> label).</summary>
public enum StorageOperation
{
    /// <summary>Grain state read, or a read of named rows.</summary>
    Read = 0,

    /// <summary>Rows of a grain listed by prefix.</summary>
    List = 1,

    /// <summary>Grain state written through the Orleans provider.</summary>
    Write = 2,

    /// <summary>Grain state cleared through the Orleans provider.</summary>
    Clear = 3,

    /// <summary>One row-store transaction (one or more grains' commits).</summary>
    Transaction = 4,

    /// <summary>A SQLite write-ahead-log checkpoint run beside the writer (never by a commit).</summary>
    Checkpoint = 5,
}
