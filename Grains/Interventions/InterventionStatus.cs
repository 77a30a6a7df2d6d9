namespace Loom.Interventions;

/// <summary>What became of an inline marker when its turn ran.</summary>
public enum InterventionStatus { Applied, Noted, Refused }

/// <summary>
/// The contract carries the status as a string (<see cref="Turns.Intervention.Status"/>: the REST API and stored
/// turns say "applied", "noted" or "refused"); the engine works with the enum and maps here, at the boundary.
/// </summary>
public static class InterventionStatuses
{
    public const string Applied = "applied";
    public const string Noted = "noted";
    public const string Refused = "refused";

    public static string ToWire(this InterventionStatus status) => status switch
    {
        InterventionStatus.Applied => Applied,
        InterventionStatus.Refused => Refused,
        _ => Noted,
    };

    public static bool Is(this Turns.Intervention marker, InterventionStatus status) =>
        string.Equals(marker.Status, status.ToWire(), StringComparison.Ordinal);
}
