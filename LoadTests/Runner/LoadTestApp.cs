using System.Text;
using Loom.LoadTests.Cli;
using Loom.LoadTests.Client;
using Loom.LoadTests.FakeLlm;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;
using Loom.LoadTests.Scenarios;
using Loom.LoadTests.Target;

namespace Loom.LoadTests.Runner;

/// <summary>Parses the command line, brings up the fake LLM and the target, runs the scenarios and writes the reports.</summary>
public sealed class LoadTestApp(TextWriter stdout, TextWriter stderr, bool inPlaceProgress)
{
    public const int ExitOk = 0, ExitGateFailed = 1, ExitUsage = 2, ExitTargetFailed = 3, ExitInterrupted = 130;

    /// <summary>The child gateway, so a SIGTERM handler can kill it even while the run is mid-flight.</summary>
    public EmbeddedGateway? Child { get; private set; }

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken ct)
    {
        var parsed = CliParser.Parse(args, ScenarioCatalog.Names, ScenarioCatalog.AllNames);
        if (parsed.ShowHelp)
        {
            stdout.Write(HelpText.Render());
            return ExitOk;
        }
        if (parsed.Options is not { } options)
        {
            stderr.WriteLine($"error: {parsed.Error}");
            return ExitUsage;
        }

        var started = DateTimeOffset.UtcNow;
        var root = RepoPaths.FindRoot();
        var outDir = Path.GetFullPath(options.OutDirectory ?? RepoPaths.DefaultReportsDir(root, started));
        Directory.CreateDirectory(outDir);
        var workDir = Path.Combine(Path.GetTempPath(), "loom-loadtests-" + Guid.NewGuid().ToString("N")[..8]);

        FakeLlmServer? fake = null;
        ILoomTarget? target = null;
        ProcessSampler? targetSampler = null, selfSampler = null;
        try
        {
            LlmMode? embeddedLlm = null;
            if (options.ClusterDirectory is not null)
            {
                LocalCluster cluster;
                try
                {
                    cluster = LocalCluster.Read(options.ClusterDirectory);
                }
                catch (Exception e) when (e is IOException or InvalidOperationException)
                {
                    stderr.WriteLine($"error: {e.Message}");
                    return ExitTargetFailed;
                }
                if (!Loopback.IsLoopback(cluster.Gateway))
                {
                    stderr.WriteLine($"error: the cluster's gateway {cluster.Gateway} is not on loopback");
                    return ExitUsage;
                }
                options = options with { Target = cluster.Gateway, ApiKey = options.ApiKey ?? cluster.ApiKey };
                if (cluster.FakeLlmPort is { } llmPort)
                {
                    fake = await StartFakeLlmAsync(options, ct, llmPort);
                    stdout.WriteLine($"Fake LLM for the cluster's silos listening at {fake.BaseAddress}");
                }
                target = new ExistingTarget(cluster.Gateway, cluster.Processes, $"local cluster ({options.ClusterDirectory})");
                if (!await WaitReadyAsync(target.BaseAddress, options, ct))
                {
                    stderr.WriteLine($"error: {target.BaseAddress} did not answer GET /readyz with 200 within {options.ReadyTimeout.TotalSeconds:0} s");
                    return ExitTargetFailed;
                }
            }
            else if (options.Relay)
            {
                embeddedLlm = LlmMode.Fake;
                fake = await StartFakeLlmAsync(options, ct);
                stdout.WriteLine($"Fake LLM listening at {fake.BaseAddress}; starting the relay (no engine) ...");
                try
                {
                    target = Child = await EmbeddedGateway.StartRelayAsync(fake.BaseAddress, Path.Combine(outDir, "relay.log"), options.ReadyTimeout, ct);
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                {
                    stderr.WriteLine($"error: {e.Message}");
                    return ExitTargetFailed;
                }
            }
            else if (options.Target is null)
            {
                embeddedLlm = options.EffectiveLlm;
                if (embeddedLlm == LlmMode.Fake)
                {
                    fake = await StartFakeLlmAsync(options, ct);
                    stdout.WriteLine($"Fake LLM listening at {fake.BaseAddress}");
                }
                var dll = options.GatewayDll ?? (root is null ? null : RepoPaths.DefaultGatewayDll(root));
                if (dll is null)
                {
                    stderr.WriteLine("error: cannot find the repository (Loom.Orleans.sln); pass --gateway-dll or --target");
                    return ExitUsage;
                }
                stdout.WriteLine($"Starting gateway {dll} ...");
                try
                {
                    target = Child = await EmbeddedGateway.StartAsync(new EmbeddedGatewayOptions(Path.GetFullPath(dll), root, embeddedLlm.Value,
                        fake?.BaseAddress, workDir, Path.Combine(outDir, "gateway.log"), options.ReadyTimeout, options.ApiKey)
                    { ExtraEnvironment = options.GatewayEnvironment }, stdout, ct);
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException or FileNotFoundException)
                {
                    stderr.WriteLine($"error: {e.Message}");
                    return ExitTargetFailed;
                }
            }
            else
            {
                target = new ExistingTarget(options.Target, options.TargetPids
                    .Select((pid, i) => new WatchedProcess(pid, options.TargetPids.Count == 1 ? "target" : $"process {i + 1}")).ToArray());
                if (!await WaitReadyAsync(target.BaseAddress, options, ct))
                {
                    stderr.WriteLine($"error: {target.BaseAddress} did not answer GET /readyz with 200 within {options.ReadyTimeout.TotalSeconds:0} s");
                    return ExitTargetFailed;
                }
            }
            stdout.WriteLine($"Target ready: {target.Description}");

            selfSampler = new ProcessSampler(Environment.ProcessId, "runner");
            var startAnother = Child is null || options.Relay ? null : StartAnother(options, root, embeddedLlm!.Value, fake, workDir, outDir);
            LoomClient? client = null;
            ScenarioRun Attach(ILoomTarget to)
            {
                targetSampler = to.Processes.Count > 0 ? new ProcessSampler(to.Processes, "LOOM") : null;
                client = new LoomClient(to.BaseAddress, options.ApiKey);
                return new ScenarioRun
                {
                    Client = client, Options = options, Console = stdout, InPlaceProgress = inPlaceProgress,
                    Fake = fake, EmbeddedLlm = embeddedLlm, TargetSampler = targetSampler, SelfSampler = selfSampler,
                    StartGateway = startAnother,
                    Metrics = new TargetMetrics(client, to.Processes.Select(p => ProcessUrls.Read(p.Pid)).OfType<Uri>().Distinct().ToArray()),
                };
            }

            var run = Attach(target);
            var report = new RunReport
            {
                Title = $"LOOM load test: {string.Join(", ", options.Scenarios)}",
                StartedAt = started,
                Target = options.FreshGateway ? $"{target.Description}; a fresh gateway for each scenario (--fresh-gateway)" : target.Description,
                Llm = run.LlmDescription,
                CommandLine = "dotnet run --project LoadTests -c Release -- " + string.Join(' ', args),
            };

            await WarmUpAsync(run, ct);
            var interrupted = false;
            for (var i = 0; i < options.Scenarios.Count; i++)
            {
                var scenario = ScenarioCatalog.Get(options.Scenarios[i]);
                var sr = new ScenarioReport(scenario.Name, scenario.Description);
                report.Scenarios.Add(sr);
                stdout.WriteLine();
                stdout.WriteLine($"== {scenario.Name}: {scenario.Description}");
                if (options.FreshGateway && i > 0)
                {
                    // Each workload on its own process: what an earlier scenario left behind (its sessions, its heap) is
                    // not counted against this one's memory and latency.
                    client?.Dispose();
                    if (targetSampler is not null) await targetSampler.DisposeAsync();
                    targetSampler = null;
                    await target!.DisposeAsync();
                    target = Child = null;
                    try
                    {
                        target = Child = await startAnother!(scenario.Name, new Dictionary<string, string>(), ct);
                    }
                    catch (Exception e) when (e is InvalidOperationException or TimeoutException or FileNotFoundException)
                    {
                        sr.Error = $"a fresh gateway did not start: {e.Message}";
                        stdout.Write(ScenarioSummary(sr));
                        break;
                    }
                    stdout.WriteLine($"Fresh gateway for {scenario.Name}: {target.Description}");
                    run = Attach(target);
                    await WarmUpAsync(run, ct);
                }
                try
                {
                    await scenario.RunAsync(run, sr, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    sr.Error = "interrupted";
                    interrupted = true;
                }
                catch (Exception e)
                {
                    // A scenario that cannot run (setup call failed) is reported; the others still run.
                    sr.Error = $"{e.GetType().Name}: {e.Message}";
                }
                stdout.Write(ScenarioSummary(sr));
                if (interrupted) break;
            }
            client?.Dispose();

            report.FinishedAt = DateTimeOffset.UtcNow;
            await File.WriteAllTextAsync(Path.Combine(outDir, "report.md"), MarkdownReportWriter.Render(report), CancellationToken.None);
            await File.WriteAllTextAsync(Path.Combine(outDir, "report.json"), JsonReportWriter.Render(report), CancellationToken.None);
            await File.WriteAllTextAsync(Path.Combine(outDir, "report.html"), HtmlReportWriter.Render(report), CancellationToken.None);
            stdout.WriteLine();
            stdout.WriteLine($"Reports: {Path.Combine(outDir, "report.md")}, report.json and report.html");
            if (fake is not null) stdout.WriteLine($"Fake LLM served {fake.Requests} requests ({fake.StreamedRequests} streamed, {fake.AbortedRequests} aborted, {fake.BadRequests} malformed).");
            stdout.WriteLine($"Result: {(report.GatesPassed ? report.Result : report.Result.ToUpperInvariant())}.");
            return interrupted ? ExitInterrupted : report.GatesPassed ? ExitOk : ExitGateFailed;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            stderr.WriteLine("interrupted");
            return ExitInterrupted;
        }
        finally
        {
            if (targetSampler is not null) await targetSampler.DisposeAsync();
            if (selfSampler is not null) await selfSampler.DisposeAsync();
            if (target is not null) await target.DisposeAsync();
            Child = null;
            if (fake is not null) await fake.DisposeAsync();
            try { if (Directory.Exists(workDir)) Directory.Delete(workDir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Another embedded gateway like the main one, in its own folder with its own database and log file.</summary>
    private Func<string, IReadOnlyDictionary<string, string>, CancellationToken, Task<EmbeddedGateway>> StartAnother(
        CliOptions options, string? root, LlmMode llm, FakeLlmServer? fake, string workDir, string outDir) =>
        (label, environment, ct) =>
        {
            var dll = options.GatewayDll ?? RepoPaths.DefaultGatewayDll(root!);
            var extra = new Dictionary<string, string>(options.GatewayEnvironment);
            foreach (var (key, value) in environment) extra[key] = value;
            return EmbeddedGateway.StartAsync(new EmbeddedGatewayOptions(Path.GetFullPath(dll), root, llm, fake?.BaseAddress,
                Path.Combine(workDir, label), Path.Combine(outDir, $"gateway-{label}.log"), options.ReadyTimeout, options.ApiKey)
            { ExtraEnvironment = extra }, stdout, ct);
        };

    /// <summary>
    /// A few unmeasured calls first, so JIT compilation and first grain activations do not land in the first
    /// measured phase. Failures are ignored here: the scenarios will report them.
    /// </summary>
    private async Task WarmUpAsync(ScenarioRun run, CancellationToken ct)
    {
        stdout.WriteLine("Warming up (unmeasured): a world, 20 sessions, reads.");
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(TimeSpan.FromSeconds(60));
            var world = await run.CreateWorldAsync("warmup", limit.Token);
            var ids = await run.CreateSessionsAsync(world, 20, "warmup", limit.Token);
            await Task.WhenAll(ids.Select(id => run.Client.GetSessionAsync(id, limit.Token)));
            await run.Client.ValidateCanonAsync(CanonSamples.SmallWorld(), limit.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            stdout.WriteLine($"Warm-up incomplete ({e.GetType().Name}: {e.Message}); continuing.");
        }
    }

    private static Task<FakeLlmServer> StartFakeLlmAsync(CliOptions options, CancellationToken ct, int port = 0)
    {
        var behaviour = FakeLlmBehaviour.ForLatency(options.Latency);
        return FakeLlmServer.StartAsync(behaviour with
        {
            TimeToFirstToken = options.TimeToFirstToken is { } t && t < options.Latency ? t : behaviour.TimeToFirstToken,
            TokensPerSecond = options.TokensPerSecond,
        }, ct, port);
    }

    private static async Task<bool> WaitReadyAsync(Uri baseAddress, CliOptions options, CancellationToken ct)
    {
        using var client = new LoomClient(baseAddress, options.ApiKey);
        var deadline = DateTime.UtcNow + options.ReadyTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await client.IsReadyAsync(ct)) return true;
            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
        }
        return false;
    }

    /// <summary>The scenario's tables and checks, as Markdown, straight to the console.</summary>
    private static string ScenarioSummary(ScenarioReport s)
    {
        var md = new StringBuilder().AppendLine();
        if (s.Error is not null) md.AppendLine($"!! {s.Name} could not complete: {s.Error}").AppendLine();
        foreach (var t in s.Tables) MarkdownReportWriter.AppendTable(md, t);
        if (s.Checks.Count > 0)
            MarkdownReportWriter.AppendTable(md, new ReportTable("Targets", ["check", "bound", "target", "measured", "result"],
                s.Checks.Select(c => (IReadOnlyList<string>)new[] { c.Name, c.Bound, c.Target, c.Measured, c.Verdict }).ToArray()));
        foreach (var n in s.Notes) md.AppendLine($"> {n}");
        return md.ToString();
    }
}
