using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Loom.Telemetry;
using YamlDotNet.RepresentationModel;

namespace Loom.Tests.Helm;

/// <summary>
/// The alert rules pass `promtool check rules` and their unit tests (`promtool test rules`), and every metric the
/// rules and the dashboard query is one LoomMetrics exports. promtool comes from `apt-get install -y prometheus`.
/// </summary>
public sealed partial class PromtoolTests
{
    private static string AlertsFile => Path.Combine(ChartFiles.ChartDir, "files", "alerts.yaml");

    private static async Task<(int ExitCode, string Output)> Promtool(params string[] args)
    {
        var start = new ProcessStartInfo("promtool")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ChartFiles.ChartDir,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"promtool is not installed ({ex.Message}); run `apt-get install -y prometheus`.");
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout + await stderr);
        }
    }

    [Fact]
    public async Task Alert_rules_pass_promtool_check()
    {
        var (exit, output) = await Promtool("check", "rules", AlertsFile);
        Assert.True(exit == 0, output);
        Assert.Contains("4 rules found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alert_rule_unit_tests_pass()
    {
        var (exit, output) = await Promtool("test", "rules", Path.Combine("tests", "alerts_test.yaml"));
        Assert.True(exit == 0, output);
    }

    [Fact]
    public void The_chart_ships_the_tested_rule_file_and_dashboard_verbatim()
    {
        // One rule file for promtool and the PrometheusRule, one dashboard file for import and the ConfigMap.
        Assert.Contains(".Files.Get \"files/alerts.yaml\"", File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "prometheusrule.yaml")), StringComparison.Ordinal);
        Assert.Contains(".Files.Get \"files/dashboard.json\"", File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "dashboard-configmap.yaml")), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(File.ReadAllText(Path.Combine(ChartFiles.ChartDir, "files", "dashboard.json"))).RootElement.ValueKind);
    }

    [Fact]
    public void The_seed_alerts_are_all_defined_with_a_five_minute_hold()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(AlertsFile)));
        var rules = ((YamlSequenceNode)((YamlMappingNode)stream.Documents[0].RootNode)["groups"])
            .Cast<YamlMappingNode>()
            .SelectMany(g => ((YamlSequenceNode)g["rules"]).Cast<YamlMappingNode>())
            .ToDictionary(r => r["alert"].ToString(), r => r);

        Assert.Equal(["HighCPUUsage", "HighErrorRate", "HighMemoryUsage", "HighTurnProcessingLatency"], rules.Keys.Order());
        Assert.All(rules.Values, r => Assert.Equal("5m", r["for"].ToString()));
    }

    [Fact]
    public void Alerts_and_dashboard_query_only_metrics_that_exist()
    {
        var known = PrometheusNames.All
            .SelectMany(n => new[] { n, n + "_bucket", n + "_sum", n + "_count" })
            .ToHashSet(StringComparer.Ordinal);

        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(ChartFiles.ChartDir, "files", "dashboard.json")));
        var exprs = Exprs(dashboard.RootElement).Append(File.ReadAllText(AlertsFile)).ToList();
        var used = exprs.SelectMany(e => LoomMetric().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(used);
        var unknown = used.Where(m => !known.Contains(m)).ToList();
        Assert.True(unknown.Count == 0, $"queried but never exported: {string.Join(", ", unknown)}");

        // The dashboard covers every KPI the metrics define.
        var dashboardText = string.Join('\n', Exprs(dashboard.RootElement));
        Assert.All(PrometheusNames.All, name => Assert.Contains(name, dashboardText, StringComparison.Ordinal));
    }

    private static IEnumerable<string> Exprs(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        yield return property.Value.GetString()!;
                    }
                    else
                    {
                        foreach (var e in Exprs(property.Value))
                        {
                            yield return e;
                        }
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var e in Exprs(item))
                    {
                        yield return e;
                    }
                }

                break;
        }
    }

    [GeneratedRegex(@"\bloom_[a-z_]+")]
    private static partial Regex LoomMetric();
}
