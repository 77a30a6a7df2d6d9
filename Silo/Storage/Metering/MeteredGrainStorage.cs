using Loom.Telemetry;
using Orleans.Runtime;
using Orleans.Storage;

namespace Loom.Storage.Metering;

/// <summary>
/// The "loom" grain storage as grains see it: Orleans' ADO.NET provider with each call counted as one database
/// operation (<see cref="StorageMetrics"/>). Bytes are counted by <see cref="MeteredGrainStorageSerializer"/>,
/// where the payload exists.
/// </summary>
internal sealed class MeteredGrainStorage(IGrainStorage inner, StorageMetrics metrics) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        metrics.Operation(StorageOperation.Read);
        return inner.ReadStateAsync(stateName, grainId, grainState, cancellationToken);
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        metrics.Operation(StorageOperation.Write);
        return inner.WriteStateAsync(stateName, grainId, grainState, cancellationToken);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        metrics.Operation(StorageOperation.Clear);
        return inner.ClearStateAsync(stateName, grainId, grainState, cancellationToken);
    }
}
