using Loom.LoadTests.Cli;
using Loom.LoadTests.Scenarios;
using Loom.LoadTests.Target;

namespace Loom.Tests.LoadTests;

public class CliParserTests
{
    private static CliParseResult Parse(params string[] args) => CliParser.Parse(args, ScenarioCatalog.Names, ScenarioCatalog.AllNames);

    [Fact]
    public void Parses_a_scenario_with_options_in_both_forms()
    {
        var r = Parse("e2e", "--latency", "1.5s", "--users=100", "--turns", "5", "--duration", "30s", "--llm", "fake",
            "--out", "/tmp/r", "--levels", "1, 3,100", "--target", "http://127.0.0.1:5080", "--target-pid", "42", "--strict");

        var o = Assert.IsType<CliOptions>(r.Options);
        Assert.Equal(["e2e"], o.Scenarios);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), o.Latency);
        Assert.Equal(100, o.Users);
        Assert.Equal(5, o.Turns);
        Assert.Equal(TimeSpan.FromSeconds(30), o.Duration);
        Assert.Equal(LlmMode.Fake, o.Llm);
        Assert.Equal("/tmp/r", o.OutDirectory);
        Assert.Equal([1, 3, 100], o.Levels);
        Assert.Equal(new Uri("http://127.0.0.1:5080"), o.Target);
        Assert.Equal([42], o.TargetPids);
        Assert.True(o.Strict);
    }

    [Fact]
    public void Fresh_gateway_is_off_by_default_and_only_for_an_embedded_target()
    {
        Assert.False(Parse("all").Options!.FreshGateway);
        Assert.True(Parse("all", "--fresh-gateway").Options!.FreshGateway);
        Assert.Contains("--fresh-gateway", Parse("all", "--fresh-gateway", "--target", "http://127.0.0.1:5080").Error);
        Assert.Contains("--fresh-gateway", Parse("e2e", "--fresh-gateway", "--cluster-dir", "/tmp/c").Error);
    }

    [Fact]
    public void The_relay_stands_in_for_LOOM_only_in_the_turn_workloads()
    {
        Assert.False(Parse("e2e").Options!.Relay);
        Assert.True(Parse("e2e", "e2e-1000", "overhead", "turn-scheduler", "session-manager", "--relay").Options!.Relay);
        foreach (var other in new[] { "--target=http://127.0.0.1:5080", "--cluster-dir=/tmp/c", "--gateway-dll=/x/Loom.Gateway.dll", "--fresh-gateway", "--gateway-env=A=1" })
            Assert.Contains("--relay replaces LOOM", Parse("e2e", "--relay", other).Error);
        Assert.Contains("--llm offline", Parse("e2e", "--relay", "--llm", "offline").Error);
        Assert.Contains("not kpis, world-memory", Parse("e2e", "kpis", "world-memory", "--relay").Error);
        var all = Parse("all", "smoke", "--relay").Error!;
        Assert.Contains("idle-sessions", all);
        Assert.EndsWith(", smoke", all);
    }

    [Fact]
    public void Warm_up_defaults_to_ten_seconds_and_can_be_turned_off()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), Parse("overhead").Options!.WarmUp);
        Assert.Equal(TimeSpan.Zero, Parse("overhead", "--warmup", "0").Options!.WarmUp);
        Assert.Equal(TimeSpan.FromSeconds(30), Parse("e2e", "--warmup=30s").Options!.WarmUp);
        Assert.Contains("--warmup", Parse("e2e", "--warmup", "forever").Error);
    }

    [Fact]
    public void Target_pid_may_be_given_once_per_process()
    {
        var o = Parse("overhead", "--target", "http://127.0.0.1:5080", "--target-pid", "10", "--target-pid=11", "--target-pid", "10").Options!;

        Assert.Equal([10, 11], o.TargetPids);
    }

    [Fact]
    public void Idle_sessions_options_are_parsed()
    {
        var o = Parse("idle-sessions", "--users", "10000", "--turns", "2", "--duration", "5m", "--idle-timeout", "20m",
            "--gateway-env", "Loom__Sessions__CollectionAge=00:01:00", "--gateway-env=A=b=c").Options!;

        Assert.Equal(["idle-sessions"], o.Scenarios);
        Assert.Equal(10_000, o.Users);
        Assert.Equal(TimeSpan.FromMinutes(5), o.Duration);
        Assert.Equal(TimeSpan.FromMinutes(20), o.IdleTimeout);
        Assert.Equal("00:01:00", o.GatewayEnvironment["Loom__Sessions__CollectionAge"]);
        Assert.Equal("b=c", o.GatewayEnvironment["A"]); // only the first '=' separates the key
    }

    [Fact]
    public void A_cluster_directory_stands_alone()
    {
        Assert.Equal("/tmp/c", Parse("overhead", "--cluster-dir", "/tmp/c").Options!.ClusterDirectory);
        Assert.Contains("--cluster-dir", Parse("overhead", "--cluster-dir", "/tmp/c", "--target", "http://127.0.0.1:1").Error);
        Assert.Contains("--gateway-env", Parse("overhead", "--cluster-dir", "/tmp/c", "--gateway-env", "A=1").Error);
        Assert.Contains("KEY=VALUE", Parse("overhead", "--gateway-env", "novalue").Error);
        Assert.Contains("--idle-timeout", Parse("idle-sessions", "--idle-timeout", "soon").Error);
        // roll replaces a local cluster's processes: only with --cluster-dir, and alone.
        Assert.Contains("--cluster-dir", Parse("roll").Error);
        Assert.Contains("alone", Parse("roll", "e2e", "--cluster-dir", "/tmp/c").Error);
        Assert.Null(Parse("roll", "--cluster-dir", "/tmp/c").Error);
    }

    [Fact]
    public void All_runs_every_issue_11_and_issue_17_workload()
    {
        var o = Parse("all").Options!;

        Assert.Equal(["session-manager", "turn-scheduler", "world-memory", "rules", "e2e", "e2e-1000", "overhead", "kpis", "providers", "workflow", "idle-sessions"], o.Scenarios);
    }

    [Fact]
    public void All_expands_to_every_scenario_but_smoke()
    {
        var o = Parse("all").Options!;

        Assert.Equal(ScenarioCatalog.AllNames, o.Scenarios);
        Assert.DoesNotContain("smoke", o.Scenarios);
        Assert.Contains("overhead", o.Scenarios);
        Assert.Equal(LlmMode.Fake, o.EffectiveLlm);
    }

    [Fact]
    public void Smoke_defaults_to_the_offline_narrator_unless_told_otherwise()
    {
        Assert.Equal(LlmMode.Offline, Parse("smoke").Options!.EffectiveLlm);
        Assert.Equal(LlmMode.Fake, Parse("smoke", "--llm", "fake").Options!.EffectiveLlm);
        Assert.Equal(TimeSpan.FromSeconds(1.5), Parse("smoke").Options!.Latency);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("e2e", "--help")]
    public void Help_is_recognised(params string[] args) => Assert.True(Parse(args).ShowHelp);

    [Theory]
    [InlineData("unknown scenario", "nope")]
    [InlineData("name a scenario", "--users", "3")]
    [InlineData("loopback", "e2e", "--target", "http://10.1.2.3:8080")]
    [InlineData("loopback", "e2e", "--target", "http://example.com")]
    [InlineData("absolute", "e2e", "--target", "not a url")]
    [InlineData("--users must be", "e2e", "--users", "0")]
    [InlineData("--users must be", "e2e", "--users", "many")]
    [InlineData("--latency must be", "e2e", "--latency", "soon")]
    [InlineData("--llm must be", "e2e", "--llm", "gpt")]
    [InlineData("needs a value", "e2e", "--turns")]
    [InlineData("unknown option", "e2e", "--frobnicate", "1")]
    [InlineData("--levels", "e2e", "--levels", "1,x")]
    [InlineData("--target-pid only", "e2e", "--target-pid", "12")]
    public void Bad_command_lines_give_a_clear_error(string expected, params string[] args)
    {
        var r = Parse(args);

        Assert.Null(r.Options);
        Assert.Contains(expected, r.Error);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("http://127.5.6.7", true)]
    [InlineData("http://192.168.1.10", false)]
    public void Only_loopback_targets_are_accepted(string url, bool ok) => Assert.Equal(ok, Loopback.IsLoopback(new Uri(url)));

    [Fact]
    public void Help_lists_every_scenario()
    {
        var help = HelpText.Render();

        Assert.All(ScenarioCatalog.Names, n => Assert.Contains(n, help));
        Assert.Contains("--gateway-dll", help);
    }

    [Fact]
    public void Providers_and_pg_are_parsed_and_a_provider_without_a_model_is_refused()
    {
        var o = Parse("providers", "--providers", "openai:gpt-4o-mini, anthropic:claude-x", "--pg", "Host=127.0.0.1;Database=loom").Options!;

        Assert.Equal(["openai:gpt-4o-mini", "anthropic:claude-x"], o.Providers);
        Assert.Equal("Host=127.0.0.1;Database=loom", o.PostgresConnection);
        Assert.Contains("provider:model", Parse("providers", "--providers", "openai").Error);
        Assert.Contains("provider:model", Parse("providers", "--providers", "openai:").Error);
    }
}
