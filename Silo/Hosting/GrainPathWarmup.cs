using System.Diagnostics;
using Loom.Errors;
using Loom.Llm;
using Loom.Sessions;
using Loom.Turns;
using Orleans.Core.Internal;
using Orleans.Runtime.Placement;

namespace Loom.Silo.Hosting;

/// <summary>
/// The grain half of the start-up warm-up (<see cref="EngineWarmup"/> does the turn's own code without Orleans): once
/// the silo is active and before it reports ready, it calls its own grains the way a session's first turn here does —
/// a session activated on this silo that reads its header row (a fresh id: there is none), and streamed answers from
/// the local LLM worker with the offline narrator — so grain activation, the call path and its filters, the storage
/// read and the LLM pipeline are compiled before sessions arrive. Nothing is written; the probe session is
/// deactivated again at once. In a rolling upgrade the sessions a draining silo hands over land on such a silo.
/// </summary>
internal sealed partial class GrainPathWarmup(IGrainFactory grains, ILocalSiloDetails silo, ILogger<GrainPathWarmup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The probe's owner: no session belongs to it, so every call ends in a 404 after the header read.</summary>
    internal const string ProbeOwner = "loom:warm-up";
    private const int Answers = 2;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(GrainPathWarmup), ServiceLifecycleStage.Active, WarmAsync);

    private async Task WarmAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Limit);
        try
        {
            var warmed = await RunAsync(bounded.Token);
            LogWarmed(logger, warmed.Chunks, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Only a head start: the silo serves either way.
            LogWarmupFailed(logger, ex);
        }
    }

    /// <summary>The warm-up itself (a failing step throws): the probe session's id and the answer chunks streamed.</summary>
    internal async Task<Warmed> RunAsync(CancellationToken cancellationToken)
    {
        var sessionId = "warm-up-" + Guid.NewGuid().ToString("N");
        var session = grains.GetGrain<ISessionGrain>(sessionId);
        RequestContext.Set(IPlacementDirector.PlacementHintKey, silo.SiloAddress);
        try
        {
            await ExpectNotFound(session.GetInfo(ProbeOwner));
            await ExpectNotFound(session.ListTurns(ProbeOwner, new TurnQuery()));
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }
        await session.Cast<IGrainManagementExtension>().DeactivateOnIdle();

        var request = new LlmRequest
        {
            Provider = LlmProviders.Offline,
            Model = LlmProviders.OfflineModel,
            SessionId = sessionId,
            Messages = [new LlmMessage { Role = LlmRole.User, Content = "I look around the square. (warm-up)" }],
        };
        var worker = grains.GetGrain<ILlmGrain>(LlmGrainKeys.For(sessionId));
        var chunks = 0;
        for (var i = 0; i < Answers; i++)
        {
            await foreach (var _ in worker.Stream(request, cancellationToken)) chunks++;
        }
        return new Warmed(sessionId, chunks);
    }

    internal readonly record struct Warmed(string ProbeSessionId, int Chunks);

    /// <summary>The probe owns nothing, so every session call ends in a 404 once the header has been read.</summary>
    private static async Task ExpectNotFound(Task call)
    {
        try
        {
            await call;
        }
        catch (LoomProblemException ex) when (ex.Status == 404)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed the grain path before reporting ready: a probe session read and deactivated, {Chunks} answer chunks streamed by the local LLM worker, nothing stored, in {Milliseconds:F0} ms")]
    private static partial void LogWarmed(ILogger logger, int chunks, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warming the grain path failed; the first sessions here compile it instead")]
    private static partial void LogWarmupFailed(ILogger logger, Exception ex);
}
