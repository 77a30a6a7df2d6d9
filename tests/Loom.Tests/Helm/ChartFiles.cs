using System.Text;
using System.Text.RegularExpressions;

namespace Loom.Tests.Helm;

/// <summary>Locates the repository and the chart, and turns Helm templates into parseable YAML without Helm.</summary>
internal static partial class ChartFiles
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ChartDir => Path.Combine(RepoRoot, "helm", "loom");

    public static string TemplatesDir => Path.Combine(ChartDir, "templates");

    public static string Read(params string[] relative) => File.ReadAllText(Path.Combine([RepoRoot, .. relative]));

    public static IEnumerable<string> TemplateFiles() =>
        Directory.EnumerateFiles(TemplatesDir, "*.yaml").Order(StringComparer.Ordinal);

    /// <summary>Templates plus helpers and notes: everything that may reference .Values.</summary>
    public static IEnumerable<string> AllTemplateSources() =>
        Directory.EnumerateFiles(TemplatesDir).Order(StringComparer.Ordinal);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Loom.Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Loom.Orleans.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// A structural rendering of a template, good enough to parse: lines holding only actions are dropped
    /// (an included or toYaml'd block simply leaves its parent key empty), `else` branches are skipped so a key
    /// set in both branches is not duplicated, and inline actions become the scalar TEMPLATED.
    /// </summary>
    public static string Destructure(string template)
    {
        var output = new StringBuilder();
        var depth = 0;      // nesting of if/with/range/define blocks
        var skipFrom = -1;  // depth at which an else-branch is being skipped
        foreach (var line in template.Split('\n'))
        {
            var trimmed = line.Trim();
            if (ActionOnlyLine().IsMatch(trimmed))
            {
                foreach (Match action in Action().Matches(trimmed))
                {
                    var word = ActionKeyword().Match(action.Groups[1].Value).Groups[1].Value;
                    switch (word)
                    {
                        case "if" or "with" or "range" or "define":
                            depth++;
                            break;
                        case "else":
                            if (skipFrom < 0)
                            {
                                skipFrom = depth;
                            }

                            break;
                        case "end":
                            if (skipFrom == depth)
                            {
                                skipFrom = -1;
                            }

                            depth--;
                            break;
                    }
                }

                continue;
            }

            if (skipFrom >= 0)
            {
                continue;
            }

            output.Append(Action().Replace(line, "TEMPLATED")).Append('\n');
        }

        return output.ToString();
    }

    [GeneratedRegex(@"^(\{\{.*?\}\}\s*)+$")]
    private static partial Regex ActionOnlyLine();

    [GeneratedRegex(@"\{\{-?\s*(.*?)\s*-?\}\}")]
    private static partial Regex Action();

    [GeneratedRegex(@"^(?:/\*.*)?([a-z]+)?")]
    private static partial Regex ActionKeyword();
}
