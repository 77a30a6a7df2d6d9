using System.ComponentModel.DataAnnotations;

namespace Loom.Quotas;

/// <summary>
/// Per-owner quotas, section <c>Loom:Quotas</c> (unset = unlimited). Sessions count every session in the owner's
/// index (archived ones too: they still hold storage); worlds count the worlds the owner published first; stored
/// bytes are the UTF-8 bytes of turn text (input, narrative, out-of-character reply) of the owner's sessions.
/// </summary>
public sealed class QuotaOptions
{
    public const string Section = "Loom:Quotas";

    [Range(0, int.MaxValue)] public int? MaxSessions { get; set; }
    [Range(0, int.MaxValue)] public int? MaxWorlds { get; set; }
    [Range(0, long.MaxValue)] public long? MaxStoredBytes { get; set; }
}
