using System.Text.Json.Nodes;
using NJsonSchema;

namespace Loom.Tests.Helm;

/// <summary>values.yaml satisfies values.schema.json, and the schema rejects the mistakes it exists to catch.</summary>
public sealed class ValuesSchemaTests
{
    private static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromJsonAsync(ChartFiles.Read("helm", "loom", "values.schema.json")).GetAwaiter().GetResult());

    private static ICollection<NJsonSchema.Validation.ValidationError> Validate(JsonNode values) =>
        Schema.Value.Validate(values.ToJsonString());

    [Fact]
    public void Default_values_validate()
    {
        var errors = Validate(ChartStructureTests.LoadValues());
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Path}: {e.Kind}")));
    }

    public static TheoryData<string, string, string> BadValues() => new()
    {
        // path to change, JSON value, the error kind's substring we expect
        { "storage.provider", "\"sqlite\"", "NotInEnumeration" },
        { "llm.provider", "\"gpt\"", "NotInEnumeration" },
        { "cluster.siloPort", "70000", "NumberTooBig" },
        { "silo.replicas", "0", "NumberTooSmall" },
        { "silo.replicas", "\"two\"", "IntegerExpected" },
        { "silo.replica", "3", "NoAdditionalPropertiesAllowed" },
        { "silo.image.pullPolicy", "\"Sometimes\"", "NotInEnumeration" },
        { "redis.existingSecret", "\"Not_A_Name\"", "PatternMismatch" },
        { "devPostgres.password", "\"short\"", "StringTooShort" },
        // Bounds the hosts enforce at start-up (TurnOptions, LoomClusterOptions): refuse them at install instead.
        { "turns.maxPending", "8", "NumberTooSmall" },
        { "silo.shutdownTimeoutSeconds", "900", "NumberTooBig" },
        { "cluster.clusterId", "\"has spaces\"", "PatternMismatch" },
        { "auth.existingSecret", "\"Loom_Auth\"", "PatternMismatch" },
        { "auth.revison", "1", "NoAdditionalPropertiesAllowed" },
    };

    [Theory]
    [InlineData("auth")]
    [InlineData("llm")]
    [InlineData("storage")]
    [InlineData("redis")]
    public void Secret_revisions_take_a_number_or_a_string_and_nothing_else(string section)
    {
        foreach (var (json, valid) in new[] { ("3", true), ("\"2025-01-31\"", true), ("\"\"", true), ("{}", false), ("[1]", false), ("true", false) })
        {
            var values = ChartStructureTests.LoadValues();
            values[section]!.AsObject()["revision"] = JsonNode.Parse(json);
            var errors = Flatten(Validate(values)).ToList();
            Assert.True(valid == (errors.Count == 0), $"{section}.revision = {json}: {string.Join(", ", errors.Select(e => $"{e.Path}: {e.Kind}"))}");
        }
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Schema_rejects_bad_values(string path, string json, string expectedKind)
    {
        var values = ChartStructureTests.LoadValues();
        var parts = path.Split('.');
        var parent = parts[..^1].Aggregate((JsonNode)values, (node, part) => node[part]!);
        parent.AsObject()[parts[^1]] = JsonNode.Parse(json);

        var errors = Flatten(Validate(values)).ToList();
        Assert.Contains(errors, e => e.Kind.ToString().Contains(expectedKind, StringComparison.Ordinal));
    }

    [Fact]
    public void Schema_requires_the_cluster_and_storage_sections()
    {
        var values = ChartStructureTests.LoadValues();
        values.Remove("storage");
        Assert.Contains(Flatten(Validate(values)), e => e.Kind == NJsonSchema.Validation.ValidationErrorKind.PropertyRequired);
    }

    private static IEnumerable<NJsonSchema.Validation.ValidationError> Flatten(IEnumerable<NJsonSchema.Validation.ValidationError> errors) =>
        errors.SelectMany(e => e is NJsonSchema.Validation.ChildSchemaValidationError child
            ? new[] { e }.Concat(Flatten(child.Errors.SelectMany(kv => kv.Value)))
            : [e]);
}
