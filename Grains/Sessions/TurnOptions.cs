using System.ComponentModel.DataAnnotations;

namespace Loom.Sessions;

/// <summary>Turn limits (section <c>Loom:Turns</c>).</summary>
public sealed class TurnOptions
{
    public const string Section = "Loom:Turns";

    [Range(1, 1_000_000)] public int MaxInputChars { get; set; } = 8000;

    /// <summary>Queued + running turns a session holds before it answers 429 (the contract asks for at least 32).</summary>
    [Range(32, 10_000)] public int MaxPending { get; set; } = 32;

    /// <summary>How many idempotency keys a session remembers (the last N submitted turns).</summary>
    [Range(16, 100_000)] public int IdempotencyWindow { get; set; } = 128;

    /// <summary>Committed turns kept in the activation for prompts and reads.</summary>
    [Range(4, 10_000)] public int RecentTurnsCached { get; set; } = 48;

    /// <summary>Refuses (400) an input no turn may take: empty, or longer than <see cref="MaxInputChars"/>.</summary>
    public void CheckInput(string? input)
    {
        if (string.IsNullOrWhiteSpace(input)) throw Errors.Problems.Invalid("input", "input must not be empty.");
        if (input.Length > MaxInputChars)
            throw Errors.Problems.Invalid("input", $"input must be at most {MaxInputChars} characters (got {input.Length}).");
    }
}
