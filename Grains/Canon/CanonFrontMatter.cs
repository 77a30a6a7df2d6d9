using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Loom.Canon;

/// <summary>Finds and reads a YAML front matter block (<c>---</c> ... <c>---</c> or <c>...</c>) at the top of a file.</summary>
internal static class CanonFrontMatter
{
    internal readonly record struct Split(bool Present, bool Closed, string Yaml, int BodyStart, int BodyLineOffset);

    /// <param name="text">LF-normalised file text.</param>
    public static Split Find(string text)
    {
        var firstEnd = text.IndexOf('\n');
        var firstLine = firstEnd < 0 ? text : text[..firstEnd];
        if (firstEnd < 0 || firstLine.TrimEnd() != "---")
        {
            return new Split(false, false, "", 0, 0);
        }

        var lineNo = 1;
        var pos = firstEnd + 1;
        while (pos <= text.Length)
        {
            var end = text.IndexOf('\n', pos);
            var line = end < 0 ? text[pos..] : text[pos..end];
            lineNo++;
            if (line.TrimEnd() is "---" or "...")
            {
                var yaml = text[(firstEnd + 1)..pos];
                var bodyStart = end < 0 ? text.Length : end + 1;
                return new Split(true, true, yaml, bodyStart, lineNo);
            }

            if (end < 0)
            {
                break;
            }

            pos = end + 1;
        }

        // Unclosed: the parser reports it and reads the rest as Markdown so other problems still surface.
        return new Split(true, false, "", firstEnd + 1, 1);
    }

    /// <summary>Reads the YAML as a flat string map (nested keys joined with '.', lists joined with ", ").</summary>
    /// <returns>An error message and its 1-based line within the YAML text, or null on success.</returns>
    public static (string Message, int Line)? TryRead(string yaml, IDictionary<string, string> into)
    {
        try
        {
            if (Refused(yaml) is { } refused) return refused;
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count == 0)
            {
                return null;
            }

            switch (stream.Documents[0].RootNode)
            {
                case YamlMappingNode mapping:
                    Flatten(mapping, prefix: "", into);
                    return null;
                case YamlScalarNode { Value: null or "" }:
                    return null;
                case var other:
                    return ("Front matter must be a mapping of 'key: value' lines.", (int)Math.Max(1, other.Start.Line));
            }
        }
        catch (YamlException ex)
        {
            return ($"Front matter is not valid YAML: {ex.Message}", (int)Math.Max(1, ex.Start.Line));
        }
        catch (ArgumentException ex)
        {
            // The representation model throws this for duplicate keys.
            return ($"Front matter is not valid YAML: {ex.Message}", 1);
        }
    }

    /// <summary>Deeper than any metadata needs; the tree is built recursively, so depth is bounded before it is built.</summary>
    private const int MaxDepth = 16;

    /// <summary>
    /// Reads the YAML's events (an iterative parser) before any tree is built. Aliases are refused: a node may contain an
    /// alias of itself (<c>x: &amp;a {y: *a}</c>), and the tree then has a loop that flattening would follow until the
    /// process dies; nesting is bounded for the same reason.
    /// </summary>
    private static (string Message, int Line)? Refused(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case YamlDotNet.Core.Events.AnchorAlias alias:
                    return ("Front matter must not use YAML aliases (*name): write the value out where it is needed.", (int)Math.Max(1, alias.Start.Line));
                case YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart when ++depth > MaxDepth:
                    return ($"Front matter nests deeper than {MaxDepth} levels.", (int)Math.Max(1, parser.Current.Start.Line));
                case YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd:
                    depth--;
                    break;
            }
        }
        return null;
    }

    private static void Flatten(YamlMappingNode mapping, string prefix, IDictionary<string, string> into)
    {
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var rawKey = keyNode is YamlScalarNode k ? k.Value ?? "" : keyNode.ToString();
            var key = prefix + CanonMetadata.NormalizeKey(rawKey);
            switch (valueNode)
            {
                case YamlScalarNode scalar:
                    into[key] = scalar.Value ?? "";
                    break;
                case YamlSequenceNode sequence:
                    into[key] = string.Join(", ", sequence.Children.Select(c => c is YamlScalarNode s ? s.Value ?? "" : c.ToString()));
                    break;
                case YamlMappingNode nested:
                    Flatten(nested, key + ".", into);
                    break;
            }
        }
    }
}
