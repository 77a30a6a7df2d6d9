using System.Globalization;
using Loom.LoadTests.Core;
using Loom.LoadTests.Target;

namespace Loom.LoadTests.Cli;

public sealed record CliParseResult(CliOptions? Options, string? Error, bool ShowHelp)
{
    public static CliParseResult Help() => new(null, null, true);
    public static CliParseResult Fail(string error) => new(null, error, false);
}

/// <summary>Parses <c>&lt;scenario|all&gt;... [--option value]...</c>; accepts <c>--option=value</c> too.</summary>
public static class CliParser
{
    public static CliParseResult Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> knownScenarios, IReadOnlyList<string> allScenarios)
    {
        var scenarios = new List<string>();
        var pids = new List<int>();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var o = new CliOptions { Scenarios = scenarios };
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "help") return CliParseResult.Help();
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (arg == "all") scenarios.AddRange(allScenarios.Where(s => !scenarios.Contains(s)));
                else if (knownScenarios.Contains(arg)) { if (!scenarios.Contains(arg)) scenarios.Add(arg); }
                else return CliParseResult.Fail($"unknown scenario '{arg}' (try --help)");
                continue;
            }

            var name = arg;
            string? value = null;
            var eq = arg.IndexOf('=');
            if (eq > 0) { name = arg[..eq]; value = arg[(eq + 1)..]; }

            if (name == "--strict") { o = o with { Strict = true }; continue; }
            if (name == "--fresh-gateway") { o = o with { FreshGateway = true }; continue; }
            if (name == "--relay") { o = o with { Relay = true }; continue; }
            if (value is null)
            {
                if (i + 1 >= args.Count) return CliParseResult.Fail($"{name} needs a value");
                value = args[++i];
            }

            string? error = null;
            switch (name)
            {
                case "--target":
                    if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                        error = "--target must be an absolute http(s) URL";
                    else if (!Loopback.IsLoopback(uri))
                        error = "--target must be a loopback address (127.0.0.1, ::1 or localhost): the runner never loads other machines";
                    else o = o with { Target = uri };
                    break;
                case "--target-pid": error = Int(value, 1, int.MaxValue, name, v => { if (!pids.Contains(v)) pids.Add(v); }); break;
                case "--cluster-dir": o = o with { ClusterDirectory = value }; break;
                case "--idle-timeout": error = Duration(value, TimeSpan.FromHours(2), name, v => o = o with { IdleTimeout = v }); break;
                case "--gateway-env":
                    var at = value.IndexOf('=');
                    if (at <= 0) error = "--gateway-env must be KEY=VALUE (environment form, e.g. Loom__Sessions__CollectionAge=00:01:00)";
                    else env[value[..at]] = value[(at + 1)..];
                    break;
                case "--llm":
                    switch (value.ToLowerInvariant())
                    {
                        case "offline": o = o with { Llm = LlmMode.Offline }; break;
                        case "fake": o = o with { Llm = LlmMode.Fake }; break;
                        default: error = "--llm must be offline or fake"; break;
                    }
                    break;
                case "--latency": error = Duration(value, TimeSpan.FromMinutes(2), name, v => o = o with { Latency = v }); break;
                case "--ttft": error = Duration(value, TimeSpan.FromMinutes(2), name, v => o = o with { TimeToFirstToken = v }); break;
                case "--token-rate":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || rate is <= 0 or > 100_000)
                        error = "--token-rate must be a number of tokens per second in (0, 100000]";
                    else o = o with { TokensPerSecond = rate };
                    break;
                case "--users": error = Int(value, 1, 10_000, name, v => o = o with { Users = v }); break;
                case "--turns": error = Int(value, 1, 1_000, name, v => o = o with { Turns = v }); break;
                case "--duration": error = Duration(value, TimeSpan.FromHours(1), name, v => o = o with { Duration = v }); break;
                case "--warmup": error = Duration(value, TimeSpan.FromMinutes(10), name, v => o = o with { WarmUp = v }); break;
                case "--ready-timeout": error = Duration(value, TimeSpan.FromMinutes(10), name, v => o = o with { ReadyTimeout = v }); break;
                case "--levels":
                    var levels = new List<int>();
                    foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var level) || level is < 1 or > 10_000)
                        { error = "--levels must be a comma-separated list of concurrencies 1..10000"; break; }
                        levels.Add(level);
                    }
                    if (error is null && levels.Count == 0) error = "--levels must not be empty";
                    if (error is null) o = o with { Levels = levels };
                    break;
                case "--out": o = o with { OutDirectory = value }; break;
                case "--gateway-dll": o = o with { GatewayDll = value }; break;
                case "--api-key": o = o with { ApiKey = value }; break;
                case "--pg": o = o with { PostgresConnection = value }; break;
                case "--providers":
                    var specs = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (specs.Length == 0 || specs.Any(p => p.IndexOf(':') is <= 0 || p.EndsWith(':')))
                        error = "--providers must be a comma-separated list of provider:model (e.g. openai:gpt-4o-mini,anthropic:claude-3-5-haiku-latest)";
                    else o = o with { Providers = specs };
                    break;
                default: error = $"unknown option {name} (try --help)"; break;
            }
            if (error is not null) return CliParseResult.Fail(error);
        }

        if (scenarios.Count == 0) return CliParseResult.Fail("name a scenario or 'all' (try --help)");
        o = o with { TargetPids = pids, GatewayEnvironment = env };
        if (pids.Count > 0 && o.Target is null) return CliParseResult.Fail("--target-pid only makes sense with --target");
        if (o.ClusterDirectory is not null && (o.Target is not null || pids.Count > 0))
            return CliParseResult.Fail("--cluster-dir finds the gateway and the pids itself; it cannot be combined with --target or --target-pid");
        var existing = o.Target is not null || o.ClusterDirectory is not null;
        if (existing && o.GatewayDll is not null) return CliParseResult.Fail("--gateway-dll starts an embedded gateway; it cannot be combined with --target or --cluster-dir");
        if (existing && o.FreshGateway) return CliParseResult.Fail("--fresh-gateway starts embedded gateways; it cannot be combined with --target or --cluster-dir");
        if (existing && env.Count > 0) return CliParseResult.Fail("--gateway-env configures the embedded gateway; it cannot be combined with --target or --cluster-dir");
        if (o.Relay && RelayRefusal(o, existing, scenarios) is { } refusal) return CliParseResult.Fail(refusal);
        if (scenarios.Contains("roll") && (o.ClusterDirectory is null || scenarios.Count > 1))
            return CliParseResult.Fail("roll replaces the processes of a local cluster: run it alone, with --cluster-dir (scripts/local-cluster.sh start 3)");
        return new CliParseResult(o, null, false);
    }

    /// <summary>Workloads the relay answers: worlds, sessions (create, read, rename) and turns, nothing else.</summary>
    public static readonly IReadOnlyList<string> RelayScenarios = ["e2e", "e2e-1000", "overhead", "turn-scheduler", "session-manager"];

    private static string? RelayRefusal(CliOptions o, bool existing, IReadOnlyList<string> scenarios)
    {
        if (existing || o.GatewayDll is not null || o.FreshGateway || o.GatewayEnvironment.Count > 0)
            return "--relay replaces LOOM with the relay; it cannot be combined with --target, --cluster-dir, --gateway-dll, --fresh-gateway or --gateway-env";
        if (o.Llm == LlmMode.Offline) return "--relay forwards each turn to the fake model; it cannot be combined with --llm offline";
        var unsupported = scenarios.Where(s => !RelayScenarios.Contains(s)).ToArray();
        return unsupported.Length > 0
            ? $"--relay only answers {string.Join(", ", RelayScenarios)}; not {string.Join(", ", unsupported)}"
            : null;
    }

    private static string? Int(string value, int min, int max, string name, Action<int> set)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            return $"{name} must be an integer {min}..{max}";
        set(v);
        return null;
    }

    private static string? Duration(string value, TimeSpan max, string name, Action<TimeSpan> set)
    {
        if (!Durations.TryParse(value, out var v) || v > max)
            return $"{name} must be a duration such as 1.5s, 250ms or 2m (at most {max.TotalSeconds:0} s)";
        set(v);
        return null;
    }
}
