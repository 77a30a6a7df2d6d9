using Loom.Errors;
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
        return Classified(inner.ReadStateAsync(stateName, grainId, grainState, cancellationToken));
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        metrics.Operation(StorageOperation.Write);
        return Classified(inner.WriteStateAsync(stateName, grainId, grainState, cancellationToken));
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        metrics.Operation(StorageOperation.Clear);
        return Classified(inner.ClearStateAsync(stateName, grainId, grainState, cancellationToken));
    }

    /// <summary>
    /// An unreachable database becomes <see cref="Problems.StorageUnavailable"/> here, below Orleans' storage bridge:
    /// a grain whose state cannot be read at activation fails before any call filter runs, and the bridge's wrapper
    /// reaches the caller with only message, type and inner exceptions (a PostgreSQL error's SQLSTATE is lost on the
    /// way), so the cause is named while it is still known. The provider has already logged the driver's error.
    /// </summary>
    private static async Task Classified(Task operation)
    {
        try
        {
            await operation;
        }
        catch (Exception ex) when (StorageFaults.IsOutage(ex))
        {
            throw Problems.StorageUnavailable();
        }
    }
}
