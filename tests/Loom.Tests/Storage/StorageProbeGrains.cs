using Orleans.Concurrency;
using Orleans.Runtime;

namespace Loom.Tests.Storage;

[GenerateSerializer, Alias("loom.tests.ProbeState")]
public sealed class ProbeState
{
    [Id(0)] public string? Value { get; set; }
    [Id(1)] public int Writes { get; set; }
}

[Alias("loom.tests.IStorageProbeGrain")]
public interface IStorageProbeGrain : IGrainWithStringKey
{
    Task SetAsync(string value);

    [ReadOnly]
    Task<ProbeState> GetAsync();

    Task ClearAsync();
}

/// <summary>Stores one value in provider "loom" under state name "probe".</summary>
public sealed class StorageProbeGrain([PersistentState("probe", "loom")] IPersistentState<ProbeState> state)
    : Grain, IStorageProbeGrain
{
    public async Task SetAsync(string value)
    {
        state.State.Value = value;
        state.State.Writes++;
        await state.WriteStateAsync();
    }

    public Task<ProbeState> GetAsync() => Task.FromResult(state.State);

    public Task ClearAsync() => state.ClearStateAsync();
}

[Alias("loom.tests.IReminderProbeGrain")]
public interface IReminderProbeGrain : IGrainWithStringKey
{
    Task RegisterAsync(string name);

    Task<bool> HasAsync(string name);

    Task UnregisterAsync(string name);
}

/// <summary>Registers reminders far in the future: the test checks they are stored, not that they fire.</summary>
public sealed class ReminderProbeGrain : Grain, IReminderProbeGrain, IRemindable
{
    public Task RegisterAsync(string name) =>
        this.RegisterOrUpdateReminder(name, TimeSpan.FromHours(1), TimeSpan.FromHours(1));

    public async Task<bool> HasAsync(string name) => await this.GetReminder(name) is not null;

    public async Task UnregisterAsync(string name)
    {
        var reminder = await this.GetReminder(name);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}
