using Loom.Import;
using Loom.Memory;
using Loom.Quotas;
using Loom.Security;
using Loom.Storage;
using Loom.Telemetry;
using Loom.Timeline;
using Loom.Worlds;
using Microsoft.Extensions.Options;

namespace Loom.Sessions;

/// <summary>
/// Brings a new session into being: the world must be playable by the caller (404 like an unknown world otherwise)
/// and the owner under its session quota; the header (pinned canon version, model settings, opening greeting), the
/// card character in memory and the owner's index entry go in one commit; then the owner's index learns the entry.
/// Used by the session's own activation (a create under a chosen name) and by <see cref="SessionFounderGrain"/> (a
/// fresh id: nothing is activated, the session reads its rows on first use).
/// </summary>
public sealed class SessionFounder(IGrainFactory grains, CanonCache canons, ILlmSettingsResolver llm, IOptions<QuotaOptions> quotas, LoomMetrics metrics)
{
    /// <summary>Seeds <paramref name="state"/> and <paramref name="memory"/> and makes them durable; on failure nothing was stored and both are empty.</summary>
    public async Task<SessionInfo> FoundAsync(string sessionId, SessionSpec spec, GrainRows<SessionState> state, SessionMemoryStore memory)
    {
        var caller = spec.Caller ?? new Caller { OwnerId = spec.OwnerId };
        CanonVersions.RequireWellFormed(spec.CanonVersion, "canonVersion");
        var canon = await grains.GetGrain<IWorldGrain>(spec.WorldId).GetCanon(caller, spec.CanonVersion, includeFiles: false);
        await SessionTenancy.CheckCreateQuotaAsync(grains, quotas.Value, spec.OwnerId);
        var settings = llm.Resolve(WorldLlmDefaults.Apply(spec.Llm, canon.Metadata));
        var world = await canons.GetAsync(spec.WorldId, canon.Version); // greetings and card character (issue 13)
        state.State = SessionSeeds.New(spec, canon, settings);
        state.State.Opening = Greetings.Pick(world.Files, spec.Greeting);
        memory.StartEmpty();
        var seeded = state.Begin(); // the card character is in memory from the start, written with the header
        if (CardCharacter.Op(world, memory.Options) is { } character) memory.Stage(seeded, CardCharacter.Seed(await memory.GetAsync(), character));
        var owner = grains.GetGrain<IOwnerGrain>(spec.OwnerId);
        var entry = OwnerIndexRows.Stage(seeded, owner.GetGrainId(), new OwnedSession { SessionId = sessionId, CreatedAt = state.State.CreatedAt });
        try
        {
            await state.CommitAsync(seeded);
        }
        catch
        {
            state.Abandon(seeded);
            state.State = new SessionState();
            memory.StartEmpty();
            throw;
        }
        await owner.Add(entry);
        metrics.SessionCreated();
        return state.State.ToInfo(sessionId);
    }
}
