using Loom.Errors;
using Loom.Security;
using Loom.Tests.Canon;
using Loom.Worlds;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Loom.Tests.Worlds;

/// <summary>Worlds stored before owners existed (no owner in their row) read as system-owned and public.</summary>
[Collection(WorldClusterCollection.Name)]
public class LegacyWorldTests(WorldClusterFixture fixture)
{
    private static readonly Caller Alice = new() { OwnerId = "alice", Roles = [LoomRoles.Author, LoomRoles.Player] };
    private static readonly Caller Bob = new() { OwnerId = "bob", Roles = [LoomRoles.Player] };
    private static readonly Caller Ops = new() { OwnerId = "ops", Roles = [LoomRoles.Admin] };

    [Fact]
    public async Task A_world_stored_without_an_owner_loads_as_system_owned_and_public()
    {
        // Store a world row as the code before owners wrote it: the same versions and blobs, no owner, no visibility.
        var source = "w-" + Guid.NewGuid().ToString("N")[..12];
        var legacy = "w-" + Guid.NewGuid().ToString("N")[..12];
        await fixture.Grains.GetGrain<IWorldGrain>(source).Publish(Alice, CanonSamples.Valid("Old world"), null);
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>("loom");
        var stored = new GrainState<WorldState>();
        await storage.ReadStateAsync("world", fixture.Grains.GetGrain<IWorldGrain>(source).GetGrainId(), stored);
        var row = new GrainState<WorldState> { State = new WorldState { Versions = stored.State!.Versions, Blobs = stored.State.Blobs } };
        Assert.Null(row.State.Owner);
        await storage.WriteStateAsync("world", fixture.Grains.GetGrain<IWorldGrain>(legacy).GetGrainId(), row);

        var world = fixture.Grains.GetGrain<IWorldGrain>(legacy);
        var info = await world.GetInfo(Bob);
        Assert.NotNull(info);
        Assert.Equal(Caller.SystemOwner, info.Owner);
        Assert.Equal(WorldVisibility.Public, info.Visibility);
        Assert.Equal(1, (await world.GetCanon(Bob, null, includeFiles: false)).Version);

        // Read-only except to admins, like the examples; an admin's change keeps it the system's.
        var problem = await Assert.ThrowsAsync<LoomProblemException>(() => world.Publish(Alice, CanonSamples.Valid("Taken over"), null));
        Assert.Equal(403, problem.Status);
        await Assert.ThrowsAsync<LoomProblemException>(() => world.SetAccess(Alice, new WorldAccessChange { Visibility = WorldVisibility.Private }));
        var changed = await world.SetAccess(Ops, new WorldAccessChange { Visibility = WorldVisibility.Private, SharedWith = ["bob"] });
        Assert.Equal(Caller.SystemOwner, changed.Owner);
        Assert.NotNull(await world.GetInfo(Bob));
        Assert.Null(await world.GetInfo(Alice));
        Assert.Equal(404, (await Assert.ThrowsAsync<LoomProblemException>(() => world.GetCanon(Alice, 1, includeFiles: false))).Status);
        // A session pinned to it still reads its canon whoever may see the world now.
        Assert.Equal(1, (await world.GetPinnedCanon(1, includeFiles: false)).Version);
    }
}
