namespace Loom.Tests.Api;

/// <summary>Reads a text/event-stream response as (id, event, data) records, with deadlines.</summary>
public sealed class SseReader(StreamReader reader)
{
    public sealed record Event(string? Id, string Type, string Data);

    public List<string> Comments { get; } = [];

    public async Task<Event?> NextAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        string? id = null, type = null;
        var data = new List<string>();
        while (true)
        {
            var line = await reader.ReadLineAsync(cts.Token);
            if (line is null) return null;
            if (line.Length == 0)
            {
                if (type is not null || data.Count > 0) return new Event(id, type ?? "message", string.Join("\n", data));
                continue;
            }
            if (line.StartsWith(':')) { Comments.Add(line); continue; }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": type = value; break;
                case "data": data.Add(value); break;
            }
        }
    }

    /// <summary>Reads until an event of <paramref name="type"/> arrives; returns everything read on the way.</summary>
    public async Task<List<Event>> UntilAsync(string type, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var seen = new List<Event>();
        while (DateTime.UtcNow < deadline)
        {
            var ev = await NextAsync(deadline - DateTime.UtcNow) ?? throw new InvalidOperationException("stream ended");
            seen.Add(ev);
            if (ev.Type == type) return seen;
        }
        throw new TimeoutException($"no {type} event in time; saw {string.Join(", ", seen.Select(e => e.Type))}");
    }
}
