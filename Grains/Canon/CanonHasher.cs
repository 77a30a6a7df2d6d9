using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Loom.Canon;

/// <summary>Content hash of a canon: "sha256:" + lower-case hex over its files sorted by name, newlines normalised.</summary>
public static class CanonHasher
{
    public static string Compute(IReadOnlyDictionary<string, string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (var name in files.Keys.Order(StringComparer.Ordinal))
        {
            // Length-prefix every field so no two different file sets can produce the same byte stream.
            AppendField(sha, Encoding.UTF8.GetBytes(name), length);
            AppendField(sha, Encoding.UTF8.GetBytes(CanonText.NormalizeNewlines(files[name] ?? "")), length);
        }

        return "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static void AppendField(IncrementalHash sha, byte[] bytes, Span<byte> length)
    {
        BinaryPrimitives.WriteInt64LittleEndian(length, bytes.Length);
        sha.AppendData(length);
        sha.AppendData(bytes);
    }
}
