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
        Assert.Contains("11 rules found", output, StringComparison.Ordinal);
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
        var rules = Rules().Where(r => r.Group != KpiGroup).ToDictionary(r => r.Rule["alert"].ToString(), r => r.Rule);

        Assert.Equal(["HighCPUUsage", "HighErrorRate", "HighMemoryUsage", "HighTurnProcessingLatency"], rules.Keys.Order());
        Assert.All(rules.Values, r => Assert.Equal("5m", r["for"].ToString()));
    }

    [Fact]
    public void Each_kpi_target_has_an_info_alert_held_fifteen_minutes()
    {
        var kpis = Rules().Where(r => r.Group == KpiGroup).ToDictionary(
            r => ((YamlMappingNode)r.Rule["labels"])["kpi"].ToString(), r => r.Rule);

        // Turn latency is HighTurnProcessingLatency; TPS and concurrent sessions are capacity targets, not alerts.
        Assert.Equal(["cost_per_turn", "cpu", "disk_iops", "llm_latency", "memory", "memory_retrieval", "token_efficiency"], kpis.Keys.Order());
        Assert.All(kpis.Values, r =>
        {
            Assert.Equal("15m", r["for"].ToString());
            Assert.Equal("info", ((YamlMappingNode)r["labels"])["severity"].ToString());
        });
    }

    [Fact]
    public void The_dashboard_draws_every_seed_target_on_its_kpi_row()
    {
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(ChartFiles.ChartDir, "files", "dashboard.json"))).RootElement;
        var panels = dashboard.GetProperty("panels").EnumerateArray().ToList();
        var row = panels.FindIndex(p => p.GetProperty("type").GetString() == "row" && p.GetProperty("title").GetString()!.StartsWith("KPIs", StringComparison.Ordinal));
        Assert.True(row >= 0, "no KPI row");
        var kpiPanels = panels.Skip(row + 1).TakeWhile(p => p.GetProperty("type").GetString() != "row").ToList();

        // Each target is a threshold step drawn as a dashed line on its panel.
        var drawn = kpiPanels
            .Where(p => p.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("custom").GetProperty("thresholdsStyle").GetProperty("mode").GetString() == "dashed")
            .SelectMany(p => p.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("thresholds").GetProperty("steps").EnumerateArray())
            .Where(step => step.GetProperty("value").ValueKind == JsonValueKind.Number)
            .Select(step => step.GetProperty("value").GetDouble())
            .ToList();
        double[] targets = [5, 3, 0.1, 10, 100, 70, 2L * 1024 * 1024 * 1024, 100, 0.01, 0.8];
        Assert.Equal(targets.Order(), drawn.Order());
    }

    private const string KpiGroup = "loom.kpis";

    private static List<(string Group, YamlMappingNode Rule)> Rules()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(AlertsFile)));
        return ((YamlSequenceNode)((YamlMappingNode)stream.Documents[0].RootNode)["groups"])
            .Cast<YamlMappingNode>()
            .SelectMany(g => ((YamlSequenceNode)g["rules"]).Cast<YamlMappingNode>().Select(r => (g["name"].ToString(), r)))
            .ToList();
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
