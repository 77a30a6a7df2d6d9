using System.Diagnostics;
using Loom.Errors;
using Loom.Security;
using Loom.Llm;
using Loom.Sessions;
using Loom.Turns;
using Loom.Worlds;
using Orleans.Core.Internal;
using Orleans.Runtime.Placement;

namespace Loom.Silo.Hosting;

/// <summary>
/// The grain half of the start-up warm-up (<see cref="EngineWarmup"/> does the turn's own code without Orleans): once
/// the silo is active and before it reports ready, it calls its own grains the way sessions arriving here do, so that
/// code is compiled before they come. First a session id with no row: activated here, it reads its absent header and
/// answers 404. Then a probe session of an example world, placed here and narrated by the built-in narrator: created,
/// one turn played, deactivated, woken again (its stored header, journal and memory read back, as a session handed
/// over in a rolling upgrade is), a second turn played, and erased for good. That covers the submit, the queue's
/// reminder, the accept and commit writes, usage, the LLM worker's stream and the reload. What stays behind: the
/// probe owner's empty session index and usage rows, and one session, two turns and two offline model calls per silo
/// start in the metrics. Without an example world (<c>Loom:SeedExampleWorlds</c> off and none published) only the
/// first part runs.
/// </summary>
internal sealed partial class GrainPathWarmup(IGrainFactory grains, ILocalSiloDetails silo, IConfiguration configuration, ILogger<GrainPathWarmup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The probes' owner: its sessions exist only while the warm-up plays them.</summary>
    internal const string ProbeOwner = Caller.WarmUpOwner;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan TurnWait = TimeSpan.FromSeconds(10);

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
            LogWarmed(logger, warmed.Turns, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Only a head start: the silo serves either way.
            LogWarmupFailed(logger, ex);
        }
    }

    /// <summary>The warm-up itself (a failing step throws): the probe sessions' ids and the turns completed.</summary>
    internal async Task<Warmed> RunAsync(CancellationToken cancellationToken)
    {
        var absentId = ProbeId();
        var absent = grains.GetGrain<ISessionGrain>(absentId);
        await HereAsync(async () =>
        {
            await ExpectNotFound(absent.GetInfo(ProbeOwner));
            await ExpectNotFound(absent.ListTurns(ProbeOwner, new TurnQuery()));
        });
        await absent.Cast<IGrainManagementExtension>().DeactivateOnIdle();

        // On a fresh database this silo may start before the seeder has published the examples (idempotent).
        if (configuration.GetValue("Loom:SeedExampleWorlds", true)) await ExampleWorlds.SeedAsync(grains, cancellationToken);
        if (ExampleWorlds.All.Count == 0) return new Warmed(absentId, null, 0);
        var playedId = ProbeId();
        var played = grains.GetGrain<ISessionGrain>(playedId);
        try
        {
            await HereAsync(() => NewSession.CreateAsync(grains, playedId, new SessionSpec
            {
                OwnerId = ProbeOwner,
                WorldId = ExampleWorlds.All[0].WorldId,
                Name = "start-up warm-up",
                Llm = new LlmSettings { Provider = LlmProviders.Offline, Model = LlmProviders.OfflineModel },
            }));
        }
        catch (LoomProblemException ex) when (ex.Status == 404)
        {
            return new Warmed(absentId, null, 0); // no example world here
        }
        try
        {
            var turns = await PlayAsync(played, "I look around the square. (warm-up)", cancellationToken);
            await played.Cast<IGrainManagementExtension>().DeactivateOnIdle();
            await HereAsync(() => played.GetInfo(ProbeOwner));
            turns += await PlayAsync(played, "I ask who keeps the watch tonight. (warm-up)", cancellationToken);
            return new Warmed(absentId, playedId, turns);
        }
        finally
        {
            await played.Delete(ProbeOwner, permanent: true);
            await played.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        }
    }

    internal readonly record struct Warmed(string AbsentSessionId, string? PlayedSessionId, int Turns);

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

    private static async Task<int> PlayAsync(ISessionGrain session, string input, CancellationToken cancellationToken)
    {
        var queued = await session.Submit(ProbeOwner, new TurnSubmission { Input = input });
        var done = await session.WaitForTurn(ProbeOwner, queued.TurnId, TurnWait).WaitAsync(cancellationToken);
        return done.Status == TurnStatus.Completed ? 1 : throw new InvalidOperationException($"The warm-up turn ended {done.Status}.");
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed the grain path before reporting ready: probe sessions read, played ({Turns} offline turns, one reload) and erased, in {Milliseconds:F0} ms")]
    private static partial void LogWarmed(ILogger logger, int turns, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warming the grain path failed; the first sessions here compile it instead")]
    private static partial void LogWarmupFailed(ILogger logger, Exception ex);
}
