using System.Diagnostics;
using Loom.Errors;
using Loom.Llm;
using Loom.Security;
using Loom.Sessions;
using Loom.Turns;
using Loom.Worlds;
using Orleans.Core.Internal;
using Orleans.Runtime.Placement;

namespace Loom.Silo.Hosting;

/// <summary>
/// The start-up warm-up: once the silo is active and before it reports ready, it calls its own grains the way sessions
/// arriving here do, so that code is compiled (QuickJit is off: full optimisation on first call) before they come. A
/// probe session of an example world, placed here and narrated by the built-in narrator, is created (which activates
/// nothing), read from storage (as a session handed over in a rolling upgrade is), played for two turns and erased for
/// good: the create, the activation's reads, the submit, the queue's reminder, the accept and commit writes, recall
/// over stored memory, usage and the LLM worker's stream. What stays behind: the probe owner's empty session index and
/// usage rows, and one session, two turns and two offline model calls per silo start in the metrics. Without an
/// example world (<c>Loom:SeedExampleWorlds</c> off and none published) a session id with no row is read and the
/// turn's CPU path runs in memory instead (<see cref="EngineWarmup"/>).
/// </summary>
internal sealed partial class GrainPathWarmup(IGrainFactory grains, ILocalSiloDetails silo, EngineWarmup inMemory, IConfiguration configuration,
    ILogger<GrainPathWarmup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The probes' owner: its sessions exist only while the warm-up plays them.</summary>
    internal const string ProbeOwner = Caller.WarmUpOwner;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan TurnWait = TimeSpan.FromSeconds(10);
    // Two turns: the second recalls the memory and history the first stored, as most of a session's turns do.
    private static readonly string[] Inputs = ["I look around the square. (warm-up)", "I ask who keeps the watch tonight. (warm-up)"];

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
            var took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (warmed.Turns > 0) LogWarmed(logger, warmed.Turns, took);
            else LogWarmedWithoutWorld(logger, took);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Only a head start: the silo serves either way.
            LogWarmupFailed(logger, ex);
        }
    }

    /// <summary>The warm-up itself (a failing step throws): the probe session's id and the turns it played.</summary>
    internal async Task<Warmed> RunAsync(CancellationToken cancellationToken)
    {
        // On a fresh database this silo may start before the seeder has published the examples (idempotent).
        if (configuration.GetValue("Loom:SeedExampleWorlds", true)) await ExampleWorlds.SeedAsync(grains, cancellationToken);
        var sessionId = ProbeId();
        var session = grains.GetGrain<ISessionGrain>(sessionId);
        if (!await TryCreateAsync(sessionId))
        {
            // No example world here: a session id with no row, read here and answered 404, and the turn in memory.
            await HereAsync(async () =>
            {
                await ExpectNotFound(session.GetInfo(ProbeOwner));
                await ExpectNotFound(session.ListTurns(ProbeOwner, new TurnQuery()));
            });
            await session.Cast<IGrainManagementExtension>().DeactivateOnIdle();
            await inMemory.WarmAsync(cancellationToken);
            return new Warmed(sessionId, 0);
        }
        try
        {
            // Created without an activation: read from storage here, as a session handed over in a rolling upgrade is, then played.
            await HereAsync(() => session.GetInfo(ProbeOwner));
            foreach (var input in Inputs)
            {
                var queued = await session.Submit(ProbeOwner, new TurnSubmission { Input = input });
                var done = await session.WaitForTurn(ProbeOwner, queued.TurnId, TurnWait).WaitAsync(cancellationToken);
                if (done.Status != TurnStatus.Completed) throw new InvalidOperationException($"The warm-up turn ended {done.Status}.");
            }
            return new Warmed(sessionId, Inputs.Length);
        }
        finally
        {
            await session.Delete(ProbeOwner, permanent: true);
            await session.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        }
    }

    internal readonly record struct Warmed(string ProbeSessionId, int Turns);

    /// <summary>Creates the probe on this silo in the first example world; false when no example world is published.</summary>
    private async Task<bool> TryCreateAsync(string sessionId)
    {
        if (ExampleWorlds.All.Count == 0) return false;
        try
        {
            await HereAsync(() => NewSession.CreateAsync(grains, sessionId, new SessionSpec
            {
                OwnerId = ProbeOwner,
                WorldId = ExampleWorlds.All[0].WorldId,
                Name = "start-up warm-up",
                Llm = new LlmSettings { Provider = LlmProviders.Offline, Model = LlmProviders.OfflineModel },
            }));
            return true;
        }
        catch (LoomProblemException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    private static string ProbeId() => "warm-up-" + Guid.NewGuid().ToString("N");

    /// <summary>Activates whatever the call reaches on this silo (the placement hint applies to new activations).</summary>
    private async Task HereAsync(Func<Task> call)
    {
        RequestContext.Set(IPlacementDirector.PlacementHintKey, silo.SiloAddress);
        try
        {
            await call();
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }
    }

    /// <summary>The absent probe has no row, so every session call ends in a 404 once the header has been read.</summary>
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed the grain path before reporting ready: a probe session created, read back, played ({Turns} offline turns) and erased, in {Milliseconds:F0} ms")]
    private static partial void LogWarmed(ILogger logger, int turns, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed the grain path before reporting ready without an example world to play: a session id with no row read, the turn path run in memory, in {Milliseconds:F0} ms")]
    private static partial void LogWarmedWithoutWorld(ILogger logger, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warming the grain path failed; the first sessions here compile it instead")]
    private static partial void LogWarmupFailed(ILogger logger, Exception ex);
}
