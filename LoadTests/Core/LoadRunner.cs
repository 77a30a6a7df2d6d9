using System.Diagnostics;

namespace Loom.LoadTests.Core;

/// <summary>
/// Drives iterations according to a <see cref="LoadSimulation"/>. Every loop is bounded: by the simulation's own
/// duration or count and by <paramref name="hardLimit"/>, after which in-flight iterations are cancelled.
/// </summary>
public sealed class LoadRunner(LoadSimulation simulation, Func<UserContext, Task> iteration, TimeSpan hardLimit)
{
    private long _started, _completed, _dropped, _crashed, _globalIteration;
    private int _inFlight, _peak;

    public int InFlight => Volatile.Read(ref _inFlight);

    public long Completed => Interlocked.Read(ref _completed);

    public async Task<LoadRunResult> RunAsync(CancellationToken ct)
    {
        simulation.Validate();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(hardLimit);
        var clock = Stopwatch.StartNew();
        try
        {
            await (simulation switch
            {
                LoadSimulation.ConstantConcurrency c => RunConstantAsync(c, clock, cts.Token),
                LoadSimulation.RampingConcurrency r => RunRampingAsync(r, clock, cts.Token),
                LoadSimulation.InjectionRate i => RunInjectionAsync(i, clock, cts.Token),
                _ => throw new NotSupportedException(simulation.GetType().Name),
            });
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // Deadline or caller cancellation: report what ran.
        }
        clock.Stop();
        return new LoadRunResult(clock.Elapsed, Interlocked.Read(ref _started), Interlocked.Read(ref _completed),
            Interlocked.Read(ref _dropped), Interlocked.Read(ref _crashed), Volatile.Read(ref _peak),
            cts.IsCancellationRequested && !ct.IsCancellationRequested);
    }

    private async Task RunOneAsync(int user, long userIteration, CancellationToken ct)
    {
        Interlocked.Increment(ref _started);
        var now = Interlocked.Increment(ref _inFlight);
        int peak;
        while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak) { }
        try
        {
            await iteration(new UserContext(user, userIteration, Interlocked.Increment(ref _globalIteration) - 1, ct));
            Interlocked.Increment(ref _completed);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception)
        {
            // Steps record their own failures; an exception escaping an iteration is a bug in the scenario, tallied not fatal.
            Interlocked.Increment(ref _crashed);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task RunConstantAsync(LoadSimulation.ConstantConcurrency c, Stopwatch clock, CancellationToken ct)
    {
        var users = Enumerable.Range(0, c.Users).Select(u => Task.Run(async () =>
        {
            for (long i = 0; (c.IterationsPerUser is null || i < c.IterationsPerUser)
                             && (c.Duration is null || clock.Elapsed < c.Duration)
                             && !ct.IsCancellationRequested; i++)
                await RunOneAsync(u, i, ct);
        }, CancellationToken.None));
        await Task.WhenAll(users);
    }

    private async Task RunRampingAsync(LoadSimulation.RampingConcurrency r, Stopwatch clock, CancellationToken ct)
    {
        var target = r.TargetAt(TimeSpan.Zero);
        var running = new Task?[r.MaxUsers];
        while (!ct.IsCancellationRequested)
        {
            var elapsed = clock.Elapsed;
            Volatile.Write(ref target, r.TargetAt(elapsed));
            if (elapsed >= r.Duration) break;
            for (var u = 0; u < Volatile.Read(ref target); u++)
            {
                if (running[u] is { IsCompleted: false }) continue;
                var user = u;
                // A user keeps going while the ramp still wants it; it stops after its current iteration when the target drops.
                running[u] = Task.Run(async () =>
                {
                    for (long i = 0; user < Volatile.Read(ref target) && clock.Elapsed < r.Duration && !ct.IsCancellationRequested; i++)
                        await RunOneAsync(user, i, ct);
                }, CancellationToken.None);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
        }
        await Task.WhenAll(running.Where(t => t is not null).Select(t => t!));
    }

    private async Task RunInjectionAsync(LoadSimulation.InjectionRate rate, Stopwatch clock, CancellationToken ct)
    {
        var total = rate.TotalIterations;
        var inFlight = new List<Task>();
        long issued = 0;
        while (issued < total && !ct.IsCancellationRequested)
        {
            // Start everything due by now: iteration k is due at k / rate, so a late wake-up catches up instead of drifting.
            var due = Math.Min(total, (long)Math.Floor(clock.Elapsed.TotalSeconds * rate.PerSecond) + 1);
            for (; issued < due; issued++)
            {
                if (Volatile.Read(ref _inFlight) >= rate.MaxConcurrency)
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }
                inFlight.Add(RunOneAsync(0, issued, ct));
            }
            if (inFlight.Count > 1024) inFlight.RemoveAll(t => t.IsCompleted);
            if (issued >= total) break;
            var next = TimeSpan.FromSeconds(issued / rate.PerSecond) - clock.Elapsed;
            if (next > TimeSpan.Zero) await Task.Delay(next, ct);
        }
        await Task.WhenAll(inFlight);
    }
}
