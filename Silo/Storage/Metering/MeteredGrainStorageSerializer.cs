using Loom.Telemetry;
using Orleans.Storage;

namespace Loom.Storage.Metering;

/// <summary>Counts the payload bytes of every grain state the provider serializes, which it does only to write it.</summary>
internal sealed class MeteredGrainStorageSerializer(IGrainStorageSerializer inner, StorageMetrics metrics) : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input)
    {
        var data = inner.Serialize(input);
        metrics.Written(data.Length);
        return data;
    }

    public T? Deserialize<T>(BinaryData input) => inner.Deserialize<T>(input);
}
