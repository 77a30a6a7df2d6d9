using System.Diagnostics;
using System.Net;
using Loom.Sessions;
using Loom.Storage;
using Loom.Tests.Api;
using Loom.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Loom.Tests.Sessions;

/// <summary>
/// A session deactivating (a silo drain, idle collection) while its running turn is stuck in a step that ignores
/// cancellation: the deactivation stops waiting after its limit instead of holding the session's callers (and the
/// drain) for Orleans' whole deactivation timeout, the turn stays queued, and it is played exactly once afterwards.
/// </summary>
public sealed class DeactivationDrainTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_turn_stuck_in_an_uncancellable_read_does_not_hold_the_deactivation_and_is_played_once_later()
    {
        await using var app = HoldingApp();
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        await client.PlayAsync(sessionId, "I cross the ford at dawn.");
        var grains = app.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);
        // A fresh activation loads its memory from storage on the next turn: that read is the one held.
        await management.ForceActivationCollection(TimeSpan.Zero);
        var hold = app.Control.Arm(grains.GetGrain<ISessionGrain>(sessionId).GetGrainId());

        var turnId = (await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I climb the tower." })
            .ExpectAsync(HttpStatusCode.Accepted))["turnId"]!.GetValue<string>();
        await hold.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        // Orleans would wait its deactivation timeout (60 s with this shutdown budget); the session gives up sooner.
        var clock = Stopwatch.StartNew();
        await management.ForceActivationCollection(TimeSpan.Zero).WaitAsync(TimeSpan.FromSeconds(20));
        output.WriteLine($"deactivation with the turn stuck in a read: {clock.Elapsed.TotalSeconds:F1} s");
        Assert.False(hold.Released, "the read was let go before the deactivation finished");

        // The stuck read returns late; the abandoned pump must not commit what it then narrates.
        hold.Release();
        var done = await client.PollAsync($"/api/sessions/{sessionId}/turns/{turnId}", t => t["status"]!.GetValue<string>() == "completed",
            TimeSpan.FromSeconds(60));
        Assert.Equal(2, done["seq"]!.GetValue<int>());
        var turns = (await client.GetAsync($"/api/sessions/{sessionId}/turns?includeRetconned=true").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal([1, 2], turns.Select(t => t!["seq"]!.GetValue<int>()));
        Assert.All(turns, t => Assert.Equal("completed", t!["status"]!.GetValue<string>()));
        var session = await client.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, session["pendingTurns"]!.GetValue<int>());
    }

    /// <summary>Holds one grain's row reads (not its header) until released, ignoring cancellation as a hung call would.</summary>
    private sealed class ReadHold
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private GrainId? _grain;

        public Task Entered => _entered.Task;
        public bool Released => _released.Task.IsCompleted;

        public ReadHold Arm(GrainId grain)
        {
            _grain = grain;
            return this;
        }

        public void Release() => _released.TrySetResult();

        public async Task WaitIfHeldAsync(GrainId grain, string? name)
        {
            if (_grain != grain || name == "session" || Released) return;
            _entered.TrySetResult();
            await _released.Task;
        }
    }

    private sealed class HoldingRowStore(IGrainRowStore inner, ReadHold hold) : IGrainRowStore
    {
        public async Task<StoredRow?> ReadAsync(GrainId grain, string name)
        {
            await hold.WaitIfHeldAsync(grain, name);
            return await inner.ReadAsync(grain, name);
        }

        public async Task<IReadOnlyList<StoredRow>> ReadManyAsync(GrainId grain, IReadOnlyList<string> names)
        {
            await hold.WaitIfHeldAsync(grain, names.Count == 1 ? names[0] : null);
            return await inner.ReadManyAsync(grain, names);
        }

        public async Task<IReadOnlyList<StoredRow>> ListAsync(GrainId grain, string prefix)
        {
            await hold.WaitIfHeldAsync(grain, null);
            return await inner.ListAsync(grain, prefix);
        }

        public Task<int> CommitAsync(RowCommit commit) => inner.CommitAsync(commit);
        public byte[] Serialize<T>(T value) => inner.Serialize(value);
        public T Deserialize<T>(byte[] payload) => inner.Deserialize<T>(payload);
    }

    // A long shutdown budget makes Orleans' own deactivation timeout 60 s, so only the session's limit can end it sooner.
    private static RowStoreApp<ReadHold> HoldingApp() =>
        new((inner, hold) => new HoldingRowStore(inner, hold), new Dictionary<string, string?> { ["Loom:Cluster:ShutdownTimeoutSeconds"] = "120" });
}
