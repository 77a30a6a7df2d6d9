using System.Diagnostics;
using Loom.Tests.Fixtures;

namespace Loom.Tests.Cluster;

/// <summary>
/// "The next release" of the silo, built from this source tree: the same code with one more optional field in the
/// session header, which it sets on every commit. A rolling upgrade from this build to that one (and back) makes old
/// and new silos read each other's rows. Built once per test run into a temp directory (about a minute).
/// </summary>
internal static class NextBuild
{
    /// <summary>The value the next build stores in its new field: found in a header row, that row was written by it.</summary>
    public const string Marker = "written-by-next-build";

    private static readonly SemaphoreSlim Once = new(1, 1);
    private static string? _siloDll;
    private static string? _root;

    /// <summary>Deletes the build (the cluster fixture calls this once its processes are gone).</summary>
    public static void Delete()
    {
        if (_root is not null && Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
        (_root, _siloDll) = (null, null);
    }

    // Each edit: file, the line it goes after (must exist once), the line(s) added.
    private static readonly (string File, string After, string Add)[] Edits =
    [
        ("Grains/Sessions/SessionState.cs",
            "    [Id(24)] public long StoredBytes { get; set; }\n",
            "    [Id(900)] public string? UpgradeProbe { get; set; }\n"),
        ("Grains/Sessions/SessionStateExtensions.cs",
            "        s.StoredBytes += SessionTenancy.StoredBytesOf(turn);\n",
            $"        s.UpgradeProbe = \"{Marker}\";\n"),
    ];

    public static async Task<string> SiloDllAsync(string repoRoot)
    {
        await Once.WaitAsync();
        try
        {
            return _siloDll ??= await BuildAsync(repoRoot);
        }
        finally
        {
            Once.Release();
        }
    }

    private static async Task<string> BuildAsync(string repoRoot)
    {
        var root = Directory.CreateTempSubdirectory("loom-next-build-").FullName;
        _root = root;
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
        {
            File.Copy(Path.Combine(repoRoot, file), Path.Combine(root, file));
        }
        foreach (var project in new[] { "Silo", "Grains", "Grains.Interfaces" })
        {
            CopySources(Path.Combine(repoRoot, project), Path.Combine(root, project));
        }
        foreach (var (file, after, add) in Edits)
        {
            var path = Path.Combine(root, file);
            var text = File.ReadAllText(path);
            var at = text.IndexOf(after, StringComparison.Ordinal);
            if (at < 0 || text.IndexOf(after, at + 1, StringComparison.Ordinal) >= 0)
            {
                throw new InvalidOperationException($"{file} no longer has the line the next build's change goes after (update {nameof(NextBuild)}): {after.Trim()}");
            }
            File.WriteAllText(path, text.Insert(at + after.Length, add));
        }

        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["build", "Silo/Silo.csproj", "-c", "Release", "-nologo", "-v", "q"]) info.ArgumentList.Add(argument);
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var build = Process.Start(info)!;
        var output = build.StandardOutput.ReadToEndAsync();
        var errors = build.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        try
        {
            await build.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            ChildProcesses.Kill(build);
            throw new TimeoutException("Building the next silo build took longer than 6 minutes.");
        }
        if (build.ExitCode != 0) throw new InvalidOperationException($"Building the next silo build failed:\n{await output}\n{await errors}");
        return Path.Combine(root, "Silo/bin/Release/net10.0/Loom.Silo.dll");
    }

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var directory in Directory.EnumerateDirectories(from))
        {
            var name = Path.GetFileName(directory);
            if (name is "bin" or "obj") continue;
            CopySources(directory, Path.Combine(to, name));
        }
    }
}
