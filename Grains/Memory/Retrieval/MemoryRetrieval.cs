namespace Loom.Memory;

/// <summary>The memory block for one prompt: Markdown, its token count, and the entities in it (Turn.memoryUsed).</summary>
public sealed record MemoryRetrieval
{
    public static MemoryRetrieval Empty { get; } = new();

    /// <summary>The grouped entity lines without a heading: the prompt assembler puts its own heading over them.</summary>
    public string Body { get; init; } = "";

    /// <summary>The block as a standalone Markdown section ("## World memory" over <see cref="Body"/>).</summary>
    public string Block => Body.Length == 0 ? "" : MemoryRenderer.Heading + Body;

    /// <summary>Tokens of <see cref="Block"/>.</summary>
    public int Tokens { get; init; }

    public List<string> EntityIds { get; init; } = [];

    /// <summary>Why each of <see cref="EntityIds"/> was chosen, in the same order (the context viewer).</summary>
    public List<Turns.MemoryScore> Scores { get; init; } = [];
}
