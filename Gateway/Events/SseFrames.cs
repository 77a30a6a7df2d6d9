using System.Globalization;
using System.Text.Json;
using Loom.Events;

namespace Loom.Gateway.Events;

/// <summary>One session event as an SSE frame, rendered once however many connections it goes to.</summary>
/// <param name="Id">The event's numeric id (0 for an event without one, e.g. a snapshot of a pending turn).</param>
public sealed record SseFrame(long Id, string Text)
{
    public static readonly SseFrame Heartbeat = new(0, ": keepalive\n\n");

    public static SseFrame Of(SessionEvent ev, JsonSerializerOptions json) =>
        new(IdOf(ev.Id), $"id: {ev.Id}\nevent: {ev.Type}\ndata: {JsonSerializer.Serialize(Payload(ev), json)}\n\n");

    public static long IdOf(string? id) =>
        long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;

    /// <summary>What each event carries, per the contract.</summary>
    private static object? Payload(SessionEvent ev) => ev.Type switch
    {
        SessionEventTypes.TurnDelta => new { turnId = ev.TurnId, text = ev.Text },
        SessionEventTypes.MemoryUpdated => new { turnId = ev.TurnId, ops = ev.Memory },
        SessionEventTypes.SessionRolledBack => ev.Session,
        _ => ev.Turn,
    };
}
