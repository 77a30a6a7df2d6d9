using Loom.Turns;

namespace Loom.Interventions;

/// <summary>A player's input split into in-fiction text and the out-of-story markers found in it.</summary>
[GenerateSerializer, Alias("loom.ParsedInput")]
public sealed record ParsedInput
{
    /// <summary>The input with markers removed and whitespace tidied: what the narrator reads as the story.</summary>
    [Id(0)] public required string StoryText { get; init; }
    /// <summary>Markers in the order they appear.</summary>
    [Id(1)] public List<Intervention> Interventions { get; init; } = [];
}
