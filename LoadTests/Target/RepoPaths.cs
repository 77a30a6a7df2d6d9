namespace Loom.LoadTests.Target;

/// <summary>Finds the repository (the folder holding Loom.Orleans.sln) from the working directory or the binary.</summary>
public static class RepoPaths
{
    public const string SolutionFile = "Loom.Orleans.sln";

    public static string? FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, SolutionFile))) return dir.FullName;
        }
        return null;
    }

    public static string DefaultGatewayDll(string root) => Path.Combine(root, "Gateway", "bin", "Release", "net10.0", "Loom.Gateway.dll");

    public static string DefaultReportsDir(string? root, DateTimeOffset at) =>
        Path.Combine(root is null ? Directory.GetCurrentDirectory() : Path.Combine(root, "LoadTests"), "reports", at.ToString("yyyyMMdd-HHmmss"));
}
