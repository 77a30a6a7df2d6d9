namespace Loom.Tests.Api;

/// <summary>The API with summaries every 3 turns (window 2), so short stories exercise summaries and their rollback.</summary>
public sealed class TimelineAppFactory() : LoomAppFactory(null, new Dictionary<string, string?>
{
    ["Loom:Memory:SummaryEveryTurns"] = "3",
    ["Loom:Memory:RecentWindowTurns"] = "2",
});

/// <summary>A narrator slow enough (about 2 s a turn) that tests can act while a turn is running.</summary>
public sealed class SlowNarratorAppFactory() : LoomAppFactory(null, new Dictionary<string, string?>
{
    ["Loom:Llm:Offline:ChunkDelayMs"] = "60",
});
