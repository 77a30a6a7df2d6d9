using System.Diagnostics;
using Loom.Sessions;
using Microsoft.Extensions.Logging;

namespace Loom.Silo.Hosting;

/// <summary>
/// Gives the memory of deactivated sessions back to the OS once the silo goes quiet. A collection runs only when
/// something allocates, so after a peak of sessions that then idle out, nothing frees what they held: measured with
/// 3,000 deactivated sessions, 234 MB of GC heap and 477 MB RSS stayed until one full collection left 60 / 318 MB.
/// Every <see cref="CheckEvery"/> this looks at how many sessions deactivated since the last trim and how much the
/// process allocated since the last look (<see cref="IdleTrimPolicy"/>); when enough did and little was, it runs one
/// blocking, compacting, decommitting collection and logs what it returned and how long the pause was.
/// </summary>
internal sealed partial class IdleMemoryTrim(LocalSessions sessions, LoomClusterOptions cluster, TimeProvider time, ILogger<IdleMemoryTrim> logger)
    : BackgroundService
{
    public static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(30);

    /// <summary>Under this much allocated in <see cref="CheckEvery"/> the silo counts as quiet (a busy one collects by itself):
    /// a turn allocates ~200 KB, so at most a few turns a second. The trim pauses the silo (here 89 ms for a 140 MB heap,
    /// 507 ms for 563 MB).</summary>
    public const long QuietAllocatedBytes = 16L << 20;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var policy = new IdleTrimPolicy(cluster.IdleTrimDeactivations, QuietAllocatedBytes);
        using var timer = new PeriodicTimer(CheckEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (policy.Due(sessions.Deactivations, GC.GetTotalAllocatedBytes())) Trim();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Trim()
    {
        var before = GC.GetGCMemoryInfo();
        var started = Stopwatch.GetTimestamp();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var pause = Stopwatch.GetElapsedTime(started);
        var after = GC.GetGCMemoryInfo();
        LogTrimmed(sessions.Deactivations, before.HeapSizeBytes >> 20, after.HeapSizeBytes >> 20,
            before.TotalCommittedBytes >> 20, after.TotalCommittedBytes >> 20, (long)pause.TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Idle trim after {Deactivations} session deactivations: GC heap {HeapBeforeMb} -> {HeapAfterMb} MB, committed {CommittedBeforeMb} -> {CommittedAfterMb} MB, pause {PauseMs} ms")]
    private partial void LogTrimmed(long deactivations, long heapBeforeMb, long heapAfterMb, long committedBeforeMb, long committedAfterMb, long pauseMs);
}

/// <summary>
/// When <see cref="IdleMemoryTrim"/> collects: at least <paramref name="minDeactivations"/> sessions deactivated since
/// the last trim, and under <paramref name="quietAllocatedBytes"/> allocated since the previous check.
/// </summary>
public sealed class IdleTrimPolicy(int minDeactivations, long quietAllocatedBytes)
{
    private long _deactivationsAtTrim;
    private long _allocatedAtCheck = -1;

    /// <summary>One check, given the silo's deactivation count and the process's allocated bytes so far.</summary>
    public bool Due(long deactivations, long allocatedBytes)
    {
        var quiet = _allocatedAtCheck >= 0 && allocatedBytes - _allocatedAtCheck < quietAllocatedBytes;
        _allocatedAtCheck = allocatedBytes;
        if (minDeactivations <= 0 || !quiet || deactivations - _deactivationsAtTrim < minDeactivations) return false;
        _deactivationsAtTrim = deactivations;
        return true;
    }
}
