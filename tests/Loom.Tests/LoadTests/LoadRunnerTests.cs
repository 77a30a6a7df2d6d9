using System.Collections.Concurrent;
using System.Diagnostics;
using Loom.LoadTests.Core;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.Tests.LoadTests;

[Collection(TimingCollection.Name)]
public class LoadRunnerTests
{
    [Fact]
    public async Task Constant_concurrency_runs_each_user_sequentially_and_never_exceeds_the_user_count()
    {
        var perUserActive = new ConcurrentDictionary<int, int>();
        var perUserOverlap = 0;
        var runner = new LoadRunner(new ConstantConcurrency(5, IterationsPerUser: 4), async ctx =>
        {
            if (perUserActive.AddOrUpdate(ctx.UserIndex, 1, (_, n) => n + 1) > 1) Interlocked.Increment(ref perUserOverlap);
            await Task.Delay(20, ctx.Cancellation);
            perUserActive.AddOrUpdate(ctx.UserIndex, 0, (_, n) => n - 1);
        }, TimeSpan.FromSeconds(30));

        var result = await runner.RunAsync(CancellationToken.None);

        Assert.Equal(20, result.IterationsCompleted);
        Assert.Equal(5, result.PeakConcurrency);
        Assert.Equal(0, perUserOverlap);
        Assert.False(result.HitHardLimit);
    }

    [Fact]
    public async Task Constant_concurrency_with_a_duration_stops_starting_iterations_when_it_ends()
    {
        var runner = new LoadRunner(new ConstantConcurrency(3, Duration: TimeSpan.FromMilliseconds(300)),
            ctx => Task.Delay(10, ctx.Cancellation), TimeSpan.FromSeconds(30));

        var result = await runner.RunAsync(CancellationToken.None);

        Assert.InRange(result.Elapsed, TimeSpan.FromMilliseconds(290), TimeSpan.FromSeconds(5));
        Assert.True(result.IterationsCompleted >= 3);
        Assert.True(result.PeakConcurrency <= 3);
    }

    [Fact]
    public async Task Injection_rate_starts_iterations_at_the_requested_pace()
    {
        var starts = new ConcurrentQueue<TimeSpan>();
        var clock = Stopwatch.StartNew();
        var runner = new LoadRunner(new InjectionRate(100, TimeSpan.FromSeconds(1), MaxConcurrency: 1000), ctx =>
        {
            starts.Enqueue(clock.Elapsed);
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(30));

        var result = await runner.RunAsync(CancellationToken.None);

        Assert.Equal(100, result.IterationsStarted);
        Assert.Equal(0, result.IterationsDropped);
        Assert.InRange(result.Elapsed, TimeSpan.FromMilliseconds(950), TimeSpan.FromSeconds(3));
        // Paced, not bursty: measured from the first start (so start-up and JIT do not count), the starts spread
        // over the second instead of arriving together, and the middle one comes near the middle.
        var times = starts.Order().ToArray();
        var span = times[^1] - times[0];
        var middle = times[times.Length / 2] - times[0];
        Assert.True(span >= TimeSpan.FromMilliseconds(800), $"starts spread over {span.TotalMilliseconds:F0} ms");
        Assert.InRange(middle.TotalMilliseconds, 250, 750);
    }

    [Fact]
    public async Task Injection_rate_drops_iterations_beyond_its_concurrency_cap()
    {
        var runner = new LoadRunner(new InjectionRate(50, TimeSpan.FromMilliseconds(600), MaxConcurrency: 2),
            ctx => Task.Delay(300, ctx.Cancellation), TimeSpan.FromSeconds(30));

        var result = await runner.RunAsync(CancellationToken.None);

        Assert.True(result.PeakConcurrency <= 2, $"peak {result.PeakConcurrency}");
        Assert.True(result.IterationsDropped > 10, $"dropped {result.IterationsDropped}");
        Assert.Equal(30, result.IterationsStarted + result.IterationsDropped);
    }

    [Fact]
    public async Task Ramping_concurrency_grows_towards_the_target_without_overshooting()
    {
        var samples = new ConcurrentQueue<int>();
        LoadRunner? runner = null;
        runner = new LoadRunner(new RampingConcurrency(0, 8, TimeSpan.FromMilliseconds(1200)), async ctx =>
        {
            samples.Enqueue(runner!.InFlight);
            await Task.Delay(20, ctx.Cancellation);
        }, TimeSpan.FromSeconds(30));

        var result = await runner.RunAsync(CancellationToken.None);

        Assert.True(result.PeakConcurrency <= 8, $"peak {result.PeakConcurrency}");
        Assert.True(result.PeakConcurrency >= 5, $"peak {result.PeakConcurrency}");
        Assert.True(samples.Take(3).All(n => n <= 3), "the ramp starts low");
        Assert.Equal(3, new RampingConcurrency(0, 8, TimeSpan.FromSeconds(8)).TargetAt(TimeSpan.FromSeconds(3)));
        Assert.Equal(8, new RampingConcurrency(10, 4, TimeSpan.FromSeconds(3)).TargetAt(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task The_hard_limit_cancels_iterations_that_never_finish()
    {
        var runner = new LoadRunner(new ConstantConcurrency(2, IterationsPerUser: 1),
            ctx => Task.Delay(Timeout.Infinite, ctx.Cancellation), TimeSpan.FromMilliseconds(200));

        var result = await runner.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.HitHardLimit);
        Assert.Equal(0, result.IterationsCompleted);
    }

    [Fact]
    public async Task An_exception_escaping_an_iteration_is_counted_not_thrown()
    {
        var runner = new LoadRunner(new ConstantConcurrency(2, IterationsPerUser: 2),
            ctx => ctx.Iteration == 0 ? throw new InvalidOperationException("scenario bug") : Task.CompletedTask, TimeSpan.FromSeconds(10));

        var result = await runner.RunAsync(CancellationToken.None);

        Assert.Equal(2, result.IterationsCrashed);
        Assert.Equal(2, result.IterationsCompleted);
    }

    [Fact]
    public void Simulations_without_a_bound_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new ConstantConcurrency(3).Validate());
        Assert.Throws<ArgumentException>(() => new InjectionRate(0, TimeSpan.FromSeconds(1), 1).Validate());
        Assert.Throws<ArgumentException>(() => new RampingConcurrency(0, 0, TimeSpan.FromSeconds(1)).Validate());
    }
}
