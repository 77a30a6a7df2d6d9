using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Loom.Tests.Helm;

/// <summary>What `helm lint` would catch, checked without Helm: every YAML parses, values and templates agree.</summary>
public sealed partial class ChartStructureTests
{
    public static TheoryData<string> PlainYamlFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(ChartFiles.RepoRoot, "helm"), "*.yaml", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}templates{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(ChartFiles.RepoRoot, file));
        }

        return data;
    }

    public static TheoryData<string> Templates()
    {
        var data = new TheoryData<string>();
        foreach (var file in ChartFiles.TemplateFiles())
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PlainYamlFiles))]
    public void Plain_yaml_file_parses(string relativePath)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(ChartFiles.Read(relativePath)));
        Assert.NotEmpty(stream.Documents);
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void Template_parses_into_kubernetes_objects(string template)
    {
        var text = ChartFiles.Destructure(File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, template)));
        var stream = new YamlStream();
        stream.Load(new StringReader(text));

        var objects = stream.Documents.Where(d => d.RootNode is YamlMappingNode { Children.Count: > 0 }).ToList();
        Assert.NotEmpty(objects);
        foreach (var doc in objects)
        {
            var root = (YamlMappingNode)doc.RootNode;
            Assert.True(root.Children.ContainsKey("apiVersion"), $"{template}: an object without apiVersion");
            Assert.True(root.Children.ContainsKey("kind"), $"{template}: an object without kind");
            var metadata = Assert.IsType<YamlMappingNode>(root.Children["metadata"]);
            Assert.True(metadata.Children.ContainsKey("name"), $"{template}: an object without metadata.name");
        }
    }

    [Fact]
    public void Helper_blocks_parse_as_yaml()
    {
        var helpers = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "_helpers.tpl"));
        var blocks = DefineBlocks(helpers).ToList();
        Assert.Contains(blocks, b => b.Name == "loom.clusterEnv");
        foreach (var (name, body) in blocks)
        {
            var stream = new YamlStream();
            var ex = Record.Exception(() => stream.Load(new StringReader(ChartFiles.Destructure(body))));
            Assert.True(ex is null, $"define {name}: {ex?.Message}");
        }
    }

    [Fact]
    public void Every_values_path_used_by_a_template_exists_in_values_yaml()
    {
        var values = LoadValues();
        var missing = TemplateValueRefs().Where(path => Lookup(values, path) is null && !ExistsAsNull(values, path)).ToList();
        Assert.True(missing.Count == 0, $"templates use values that values.yaml does not define: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_value_in_values_yaml_is_used_by_a_template()
    {
        var refs = TemplateValueRefs().ToHashSet(StringComparer.Ordinal);
        var unused = Leaves(LoadValues(), "")
            .Where(leaf => !refs.Any(r => leaf == r || leaf.StartsWith(r + ".", StringComparison.Ordinal)))
            .ToList();
        Assert.True(unused.Count == 0, $"values.yaml defines values no template reads: {string.Join(", ", unused)}");
    }

    [Fact]
    public void Chart_metadata_is_a_v2_application_chart()
    {
        var chart = YamlJson.Load(ChartFiles.Read("helm", "loom", "Chart.yaml"))!.AsObject();
        Assert.Equal("v2", (string?)chart["apiVersion"]);
        Assert.Equal("loom", (string?)chart["name"]);
        Assert.Equal("application", (string?)chart["type"]);
        Assert.Matches(@"^\d+\.\d+\.\d+", (string?)chart["version"]);
        Assert.False(string.IsNullOrEmpty((string?)chart["appVersion"]));
    }

    internal static JsonObject LoadValues() => YamlJson.Load(ChartFiles.Read("helm", "loom", "values.yaml"))!.AsObject();

    internal static IEnumerable<string> TemplateValueRefs() =>
        ChartFiles.AllTemplateSources()
            .SelectMany(file => ValuesRef().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value.TrimEnd('.')))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);

    private static JsonNode? Lookup(JsonObject root, string path)
    {
        JsonNode? node = root;
        foreach (var part in path.Split('.'))
        {
            node = node is JsonObject obj && obj.TryGetPropertyValue(part, out var child) ? child : null;
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }

    private static bool ExistsAsNull(JsonObject root, string path)
    {
        var parts = path.Split('.');
        var parent = parts.Length == 1 ? root : Lookup(root, string.Join('.', parts[..^1])) as JsonObject;
        return parent is not null && parent.ContainsKey(parts[^1]);
    }

    /// <summary>Scalars, lists and empty maps are leaves (a template uses a list or map as a whole).</summary>
    private static IEnumerable<string> Leaves(JsonNode? node, string prefix)
    {
        if (node is JsonObject { Count: > 0 } obj)
        {
            foreach (var (key, child) in obj)
            {
                foreach (var leaf in Leaves(child, prefix.Length == 0 ? key : $"{prefix}.{key}"))
                {
                    yield return leaf;
                }
            }
        }
        else
        {
            yield return prefix;
        }
    }

    private static IEnumerable<(string Name, string Body)> DefineBlocks(string helpers)
    {
        string? name = null;
        var depth = 0;
        var body = new List<string>();
        foreach (var line in helpers.Split('\n'))
        {
            var define = DefineStart().Match(line);
            if (depth == 0 && define.Success)
            {
                name = define.Groups[1].Value;
                depth = 1;
                body.Clear();
                continue;
            }

            if (name is null)
            {
                continue;
            }

            depth += BlockOpen().Matches(line).Count - BlockEnd().Matches(line).Count;
            if (depth == 0)
            {
                yield return (name, string.Join('\n', body));
                name = null;
                continue;
            }

            body.Add(line);
        }
    }

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_.]+)")]
    private static partial Regex ValuesRef();

    [GeneratedRegex(@"^\{\{-?\s*define\s+""([^""]+)""")]
    private static partial Regex DefineStart();

    [GeneratedRegex(@"\{\{-?\s*(if|with|range|define)\b")]
    private static partial Regex BlockOpen();

    [GeneratedRegex(@"\{\{-?\s*end\b")]
    private static partial Regex BlockEnd();
}
