using System.Security.Cryptography;
using System.Text;

namespace Loom.Llm.Offline;

/// <summary>
/// SplitMix64 seeded from SHA-256 of the inputs: the same story gives the same narration on every machine and
/// .NET version (System.Random's seeded sequence and string.GetHashCode give no such promise).
/// </summary>
internal sealed class DeterministicRandom
{
    private ulong _state;

    private DeterministicRandom(ulong seed) => _state = seed;

    public static DeterministicRandom FromTexts(IEnumerable<string> texts)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var text in texts)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(text));
            sha.AppendData([0]); // separator so ("ab","c") and ("a","bc") differ
        }

        var digest = sha.GetHashAndReset();
        return new DeterministicRandom(BitConverter.ToUInt64(digest, 0));
    }

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, maxExclusive).</summary>
    public int Next(int maxExclusive) => maxExclusive <= 0 ? 0 : (int)(NextUInt64() % (ulong)maxExclusive);

    /// <summary>Uniform in [min, maxInclusive].</summary>
    public int Between(int min, int maxInclusive) => min + Next(maxInclusive - min + 1);

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];
}
