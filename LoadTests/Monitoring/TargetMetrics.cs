using System.Globalization;
using Loom.LoadTests.Client;

namespace Loom.LoadTests.Monitoring;

/// <summary>
/// Reads gauges from the target's Prometheus endpoints (<c>GET /metrics</c>, anonymous): the gateway's and, for a
/// cluster, every silo's, summed. Used for the active-session gauge and the GC heap, which /proc cannot see.
/// </summary>
public sealed class TargetMetrics(LoomClient client, IReadOnlyList<Uri> processUrls)
{
    /// <summary>Session grains active on a process (LOOM's own gauge).</summary>
    public const string SessionsActive = "loom_sessions_active";

    /// <summary>GC heap size after the last collection: the .NET runtime meter's name first, the older instrumentation's second.</summary>
    public static readonly IReadOnlyList<string> GcHeapBytes = ["dotnet_gc_last_collection_heap_size_bytes", "process_runtime_dotnet_gc_heap_size_bytes"];

    /// <summary>Where /metrics is read: each watched process's own URL, else the target's base address.</summary>
    public IReadOnlyList<Uri> Endpoints { get; } = processUrls.Count > 0 ? processUrls : [client.BaseAddress];

    /// <summary>The sum over every endpoint of the first of <paramref name="names"/> each one exposes; null when none does or none answers.</summary>
    public async Task<double?> ReadSumAsync(IReadOnlyList<string> names, CancellationToken ct)
    {
        double? total = null;
        foreach (var endpoint in Endpoints)
        {
            string text;
            try
            {
                text = await client.GetTextAsync(new Uri(endpoint, "/metrics"), ct);
            }
            catch (HttpRequestException) { continue; }
            catch (LoomApiException) { continue; }
            foreach (var name in names)
            {
                if (PrometheusText.Sum(text, name) is not { } v) continue;
                total = (total ?? 0) + v;
                break;
            }
        }
        return total;
    }

    public Task<double?> ReadSumAsync(string name, CancellationToken ct) => ReadSumAsync([name], ct);

    /// <summary>The exposition of every endpoint that answers (one text per process).</summary>
    public async Task<IReadOnlyList<string>> ReadTextsAsync(CancellationToken ct)
    {
        var texts = new List<string>();
        foreach (var endpoint in Endpoints)
        {
            try
            {
                texts.Add(await client.GetTextAsync(new Uri(endpoint, "/metrics"), ct));
            }
            catch (HttpRequestException) { }
            catch (LoomApiException) { }
        }
        return texts;
    }
}

/// <summary>The few rules of the Prometheus text format needed to read a metric's samples.</summary>
public static class PrometheusText
{
    /// <summary>Sum of every sample of <paramref name="name"/> (all label sets); null when the metric is absent.</summary>
    public static double? Sum(string text, string name)
    {
        double? sum = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal)) continue;
            var rest = line[name.Length..];
            if (rest.Length == 0 || (rest[0] != '{' && rest[0] != ' ')) continue; // a longer name with this prefix
            if (rest[0] == '{')
            {
                var close = rest.LastIndexOf('}');
                if (close < 0) continue;
                rest = rest[(close + 1)..];
            }
            var parts = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) continue;
            sum = (sum ?? 0) + value;
        }
        return sum;
    }
}
