namespace Loom.Cli.Commands;

/// <summary>A canon on disk as the API's <c>files</c> map: every <c>.md</c> under the folder by its relative path with
/// forward slashes (so <c>lore/mill.md</c> stays a lore entry), or one Markdown file by its name.</summary>
public static class CanonFolder
{
    public static Dictionary<string, string> Read(string path)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(path))
        {
            files[Path.GetFileName(path)] = File.ReadAllText(path);
            return files;
        }
        if (!Directory.Exists(path)) throw CliException.Usage($"No such folder or file: {path}");
        foreach (var file in Directory.EnumerateFiles(path, "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            files[Path.GetRelativePath(path, file).Replace(Path.DirectorySeparatorChar, '/')] = File.ReadAllText(file);
        }
        if (files.Count == 0) throw CliException.Usage($"{path} holds no Markdown (.md) files.");
        return files;
    }
}
