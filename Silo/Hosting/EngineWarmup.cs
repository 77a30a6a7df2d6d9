using System.Diagnostics;
using Loom.Events;
using Loom.Llm;
using Loom.Llm.Offline;
using Loom.Memory;
using Loom.Prompt;
using Loom.Sessions;
using Loom.Text;
using Loom.Turns;
using Loom.Worlds;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Orleans.Serialization;

namespace Loom.Silo.Hosting;

/// <summary>
/// Runs the CPU part of a turn in memory, on an example world's bundled canon and nothing stored: the offline
/// narrator's answer, its memory block applied and recalled, the prompt assembled, and the payloads a turn stores and
/// sends serialized and copied. With full optimisation on first call (QuickJit off) a fresh process compiles a turn's
/// code as the turn runs (a first turn of ~900 ms against ~10 ms later). <see cref="GrainPathWarmup"/> runs this
/// only when it cannot play a probe session (no example world published): the probe's real turns cover all of it.
/// </summary>
internal sealed partial class EngineWarmup(
    PromptAssembler prompts,
    WorldMemoryFactory memories,
    IOptions<MemoryOptions> memoryOptions,
    ITokenCounter tokens,
    Serializer serializer,
    DeepCopier copier,
    ILogger<EngineWarmup> logger)
{
    private const int Turns = 3;

    /// <summary>Runs the in-memory turns and logs what they covered; a failure is logged, never thrown.</summary>
    internal async Task WarmAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var warmed = await Task.Run(() => RunAsync(cancellationToken), cancellationToken);
            LogWarmed(logger, warmed.Turns, warmed.MemoryEntities, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only a head start: a failure here costs the first turns their compiling, nothing else.
            LogWarmupFailed(logger, ex);
        }
    }

    /// <summary>The warm-up itself (a failing step throws); says what it did, for the log and the tests.</summary>
    internal async Task<Warmed> RunAsync(CancellationToken cancellationToken)
    {
        var canon = ExampleWorlds.All.FirstOrDefault().Canon?.Files;
        if (canon is not { Count: > 0 }) return new Warmed(0, 0, 0);
        var narrator = new OfflineNarrator(tokens);
        var memory = memories.Create();
        var state = new SessionState();
        var history = new List<PromptTurn>();
        var promptTokens = 0;
        for (var seq = 1; seq <= Turns; seq++)
        {
            var input = $"I walk into the square and ask who keeps the watch tonight. ({seq})";
            var recall = await memory.RetrieveAsync(input, string.Join("\n", history.Select(h => h.Input + "\n" + h.Narrative)),
                memoryOptions.Value.TokenBudget, cancellationToken);
            var prompt = prompts.Assemble(new PromptRequest { CanonFiles = canon, Input = input, History = history, Memory = recall.Body });
            promptTokens = prompt.PromptTokens;
            var answer = await NarrateAsync(narrator, prompt.Messages, cancellationToken);
            var block = MemoryBlockParser.Split(answer, memoryOptions.Value);
            var applied = memory.Apply(block.Ops, seq);
            history.Add(new PromptTurn(input, block.Narrative));

            var queued = TurnJournal.Queued(state, input, idempotencyKey: null);
            var done = queued with { Turn = queued.Turn with { Status = TurnStatus.Completed, Narrative = block.Narrative, MemoryUpdates = [.. applied] } };
            RoundTrip(state);
            RoundTrip(done);
            RoundTrip(done.Turn);
            RoundTrip(new LlmRequest { Provider = LlmProviders.Offline, Model = "warm-up", Messages = prompt.Messages });
            RoundTrip(new LlmChunk { Text = block.Narrative, Final = true });
            RoundTrip(new SessionEvent { Id = "", Type = SessionEventTypes.TurnCompleted, TurnId = done.Turn.TurnId, Turn = done.Turn });
            RoundTrip(memory.TakeChanges());
        }
        RoundTrip(memory.AllShards().ToList());
        return new Warmed(Turns, memory.Count, promptTokens);
    }

    internal readonly record struct Warmed(int Turns, int MemoryEntities, int PromptTokens);

    private static async Task<string> NarrateAsync(IChatClient narrator, List<LlmMessage> messages, CancellationToken cancellationToken)
    {
        var filter = new StreamingNarrativeFilter();
        var chat = messages.Select(LlmStreamer.ToChatMessage).ToList();
        var answer = new System.Text.StringBuilder();
        await foreach (var update in narrator.GetStreamingResponseAsync(chat, cancellationToken: cancellationToken))
        {
            answer.Append(update.Text);
            filter.Push(update.Text);
        }
        filter.Complete();
        return answer.ToString();
    }

    private void RoundTrip<T>(T value)
    {
        serializer.Deserialize<T>(serializer.SerializeToArray(value));
        copier.Copy(value);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed the turn path in memory (no example world to play): {Turns} offline turns, {Entities} memory entities, nothing stored, in {Milliseconds:F0} ms")]
    private static partial void LogWarmed(ILogger logger, int turns, int entities, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warming the turn path failed; the first turns compile it instead")]
    private static partial void LogWarmupFailed(ILogger logger, Exception ex);
}
