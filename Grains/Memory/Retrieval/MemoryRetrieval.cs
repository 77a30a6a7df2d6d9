namespace Loom.Memory;

/// <summary>The memory block for one prompt: Markdown, its token count, and the entities in it (Turn.memoryUsed).</summary>
public sealed record MemoryRetrieval
{
    public static MemoryRetrieval Empty { get; } = new();

    public string Block { get; init; } = "";
    public int Tokens { get; init; }
    public List<string> EntityIds { get; init; } = [];
}
