using System.Text.Json.Nodes;
using NJsonSchema;

namespace Loom.Tests.Helm;

/// <summary>
/// The sizing-tier presets (values-basic/professional/enterprise.yaml) are overlays on values.yaml: merged the way
/// Helm merges a -f file (maps deep, lists and scalars replaced), each validates against values.schema.json like the
/// defaults, sets only keys values.yaml knows, keeps the chart's own invariants and grows from tier to tier.
/// </summary>
public sealed class PresetValuesTests
{
    public static TheoryData<string> Presets() => new() { "basic", "professional", "enterprise" };

    private static JsonObject Preset(string tier) => YamlJson.Load(ChartFiles.Read("helm", "loom", $"values-{tier}.yaml"))!.AsObject();

    private static JsonObject Merged(string tier) => Merge(ChartStructureTests.LoadValues(), Preset(tier));

    /// <summary>Helm's coalescing of a values file over the chart's defaults.</summary>
    private static JsonObject Merge(JsonObject defaults, JsonObject overlay)
    {
        foreach (var (key, value) in overlay)
        {
            defaults[key] = value is JsonObject map && defaults[key] is JsonObject inner
                ? Merge(inner, map.DeepClone().AsObject())
                : value?.DeepClone();
        }
        return defaults;
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public async Task A_preset_merged_over_the_defaults_validates_against_the_schema(string tier)
    {
        var schema = await JsonSchema.FromJsonAsync(ChartFiles.Read("helm", "loom", "values.schema.json"));

        var errors = schema.Validate(Merged(tier).ToJsonString());

        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Path}: {e.Kind}")));
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void A_preset_sets_only_values_the_chart_defines(string tier)
    {
        var defaults = ChartStructureTests.LoadValues();
        var unknown = Leaves(Preset(tier), "").Where(path => Lookup(defaults, path) is null && !path.Contains(".extraEnv", StringComparison.Ordinal)).ToList();
        Assert.True(unknown.Count == 0, $"values-{tier}.yaml sets keys values.yaml does not have: {string.Join(", ", unknown)}");
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void A_preset_keeps_the_chart_invariants(string tier)
    {
        var v = Merged(tier);
        foreach (var role in new[] { "silo", "gateway" })
        {
            var scaling = v[role]!["autoscaling"]!;
            var replicas = (int)v[role]!["replicas"]!;
            Assert.InRange(replicas, (int)scaling["minReplicas"]!, (int)scaling["maxReplicas"]!);
        }

        // The kubelet must not kill a silo mid-handover (the chart refuses otherwise).
        Assert.True((int)v["silo"]!["terminationGracePeriodSeconds"]! > (int)v["silo"]!["shutdownTimeoutSeconds"]!);
        // Every silo's pool at the autoscaler's ceiling fits the PostgreSQL the preset's header asks for.
        var connections = (int)v["storage"]!["maxPoolSize"]! * MaxSilos(v);
        Assert.True(connections <= (tier == "enterprise" ? 200 : 100), $"{tier}: {connections} connections at the ceiling");
        // Every environment entry is a setting the silo binds (checked against the options classes, not a list).
        Assert.All(v["silo"]!["extraEnv"]!.AsArray(), e =>
        {
            Assert.True(ConfigurationKeys.IsBound((string)e!["name"]!), $"{tier}: {e["name"]} is not a key any options class binds");
            Assert.NotNull((string?)e["value"]);
        });
    }

    [Fact]
    public void Tiers_grow_from_basic_to_enterprise()
    {
        var tiers = new[] { "basic", "professional", "enterprise" }.Select(Merged).ToList();

        Assert.True(tiers.Zip(tiers.Skip(1)).All(p => MaxSilos(p.First) < MaxSilos(p.Second)), "silo ceiling");
        Assert.True(tiers.Zip(tiers.Skip(1)).All(p => (int)p.First["silo"]!["replicas"]! < (int)p.Second["silo"]!["replicas"]!), "silo replicas");
        Assert.True(tiers.Zip(tiers.Skip(1)).All(p => LlmConcurrency(p.First) < LlmConcurrency(p.Second)), "LLM calls per silo");
    }

    private static int MaxSilos(JsonObject v) =>
        (bool)v["silo"]!["autoscaling"]!["enabled"]! ? (int)v["silo"]!["autoscaling"]!["maxReplicas"]! : (int)v["silo"]!["replicas"]!;

    private static int LlmConcurrency(JsonObject v) =>
        int.Parse((string)v["silo"]!["extraEnv"]!.AsArray().Single(e => (string)e!["name"]! == "Loom__Llm__Resilience__MaxConcurrency")!["value"]!,
            System.Globalization.CultureInfo.InvariantCulture);

    private static IEnumerable<string> Leaves(JsonNode? node, string path) => node switch
    {
        JsonObject map => map.SelectMany(kv => Leaves(kv.Value, path.Length == 0 ? kv.Key : $"{path}.{kv.Key}")),
        _ => [path],
    };

    private static JsonNode? Lookup(JsonNode? node, string path) =>
        path.Split('.').Aggregate(node, (n, part) => n is JsonObject map && map.TryGetPropertyValue(part, out var child) ? child ?? JsonValue.Create("null") : null);
}
