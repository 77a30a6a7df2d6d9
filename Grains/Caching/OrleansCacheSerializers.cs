using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Caching.Hybrid;
using Orleans.Serialization;

namespace Loom.Caching;

/// <summary>
/// Stores cached values in Orleans' own wire format: every contract type already has a version-tolerant codec
/// (stable <c>[Id]</c>s), so a silo of the next build reads the entries an older one wrote to Redis, as it does rows.
/// Types Orleans cannot serialize fall through to HybridCache's own serializers.
/// </summary>
internal sealed class OrleansCacheSerializers(Serializer serializer) : IHybridCacheSerializerFactory
{
    public bool TryCreateSerializer<T>([NotNullWhen(true)] out IHybridCacheSerializer<T>? result)
    {
        result = typeof(T) != typeof(string) && typeof(T) != typeof(byte[]) && serializer.CanSerialize<T>()
            ? new Codec<T>(serializer.GetSerializer<T>())
            : null;
        return result is not null;
    }

    private sealed class Codec<T>(Serializer<T> inner) : IHybridCacheSerializer<T>
    {
        public T Deserialize(ReadOnlySequence<byte> source) => inner.Deserialize(source)!;

        public void Serialize(T value, IBufferWriter<byte> target) => inner.Serialize(value, target);
    }
}
