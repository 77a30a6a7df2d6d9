using Loom.LoadTests.Monitoring;

namespace Loom.LoadTests.Target;

/// <summary>
/// A cluster started by <c>scripts/local-cluster.sh start</c>: its folder holds <c>gateway.pid</c>, <c>silo-N.pid</c>
/// and <c>api-key</c>; the gateway's URL is the <c>--urls</c> argument on its command line. A cluster started with
/// <c>LOOM_FAKE_LLM=1</c> also holds <c>fake-llm-port</c>: its silos call an OpenAI-compatible model there, which the
/// runner serves (so it controls the latency L as it does for an embedded gateway).
/// </summary>
public sealed record LocalCluster(Uri Gateway, IReadOnlyList<WatchedProcess> Processes, string? ApiKey, int? FakeLlmPort = null)
{
    public const string DefaultDirectory = "/tmp/loom-local-cluster";

    public static LocalCluster Read(string directory)
    {
        if (!Directory.Exists(directory)) throw new FileNotFoundException($"no cluster folder at {directory} (run scripts/local-cluster.sh start)");
        var gatewayPid = ReadPid(Path.Combine(directory, "gateway.pid"))
                         ?? throw new FileNotFoundException($"{directory}/gateway.pid is missing or not a pid");
        var processes = new List<WatchedProcess> { new(gatewayPid, "gateway") };
        foreach (var file in Directory.GetFiles(directory, "silo-*.pid").Order(StringComparer.Ordinal))
            if (ReadPid(file) is { } pid) processes.Add(new WatchedProcess(pid, Path.GetFileNameWithoutExtension(file)));
        var url = ProcessUrls.Read(gatewayPid)
                  ?? throw new InvalidOperationException($"gateway pid {gatewayPid} is not running or has no --urls argument");
        var keyFile = Path.Combine(directory, "api-key");
        var key = File.Exists(keyFile) ? File.ReadAllText(keyFile).Trim() : null;
        var fakeLlmPort = ReadPid(Path.Combine(directory, "fake-llm-port"));
        return new LocalCluster(url, processes, string.IsNullOrEmpty(key) ? null : key, fakeLlmPort);
    }

    /// <summary>A positive integer on the file's only line (a pid or a port), or null.</summary>
    private static int? ReadPid(string file) =>
        File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), out var pid) && pid > 0 ? pid : null;
}

/// <summary>Where a LOOM process serves HTTP (its <c>--urls</c> argument), to find its /metrics.</summary>
public static class ProcessUrls
{
    public static Uri? Read(int pid)
    {
        try
        {
            return FromCommandLine(File.ReadAllText($"/proc/{pid}/cmdline").Split('\0'));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The first URL of <c>--urls X</c> or <c>--urls=X</c> (several are separated by ';').</summary>
    public static Uri? FromCommandLine(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            string? value = null;
            if (args[i] == "--urls" && i + 1 < args.Count) value = args[i + 1];
            else if (args[i].StartsWith("--urls=", StringComparison.Ordinal)) value = args[i]["--urls=".Length..];
            if (value is null) continue;
            var first = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            if (first is not null && Uri.TryCreate(first.Replace("*", "127.0.0.1", StringComparison.Ordinal).Replace("+", "127.0.0.1", StringComparison.Ordinal), UriKind.Absolute, out var uri))
                return uri;
        }
        return null;
    }
}
