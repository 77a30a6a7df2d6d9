using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Loom.Benchmarks;
using Loom.Memory;
using Loom.Tests.Memory;
using Loom.Text;

// dotnet run -c Release --project tests/Loom.Benchmarks -- latency [name-filter]  per-operation p50/p95/p99 and CPU/op
// dotnet run -c Release --project tests/Loom.Benchmarks -- fidelity    the 500-turn planted-facts run
// dotnet run -c Release --project tests/Loom.Benchmarks -- retained    bytes a new session's memory keeps (3 entities)
// dotnet run -c Release --project tests/Loom.Benchmarks -- --filter '*' BenchmarkDotNet, short job
switch (args.FirstOrDefault())
{
    case "latency":
        await LatencyProbe.RunAsync(args.ElementAtOrDefault(1));
        break;
    case "fidelity":
        var options = new MemoryOptions();
        var memory = WorldMemory.Create(options, TiktokenCounter.Instance, new HashingEmbeddingGenerator(options.EmbeddingDimensions));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = await FidelityStory.RunAsync(memory, new RollingSummarizer(options), FidelityStory.Build(500, 50), 2000);
        Console.WriteLine(FidelityStory.Describe(result) + $"; 500 turns in {started.ElapsedMilliseconds} ms");
        foreach (var miss in result.Missed) Console.WriteLine($"  missed {miss.EntityId}: planted {miss.PlantedAt}, asked {miss.AskedAt}");
        break;
    case "retained":
        Console.WriteLine($"a new session's memory with three entities keeps {await SessionMemoryBenchmarks.RetainedBytesAsync(2_000):N0} bytes");
        break;
    default:
        // Short job: minutes, not hours. Percentile columns are over iteration means.
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithWarmupCount(3).WithIterationCount(8))
            .AddColumn(StatisticColumn.P95)
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        BenchmarkSwitcher.FromAssembly(typeof(MemoryBenchmarks).Assembly).Run(args, config);
        break;
}
