using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace Loom.Import;

/// <summary>
/// The PNG side of character cards: the card JSON travels base64-encoded in <c>tEXt</c> chunks named <c>chara</c> (V2)
/// and <c>ccv3</c> (V3). Only the chunk structure is read; pixels are never decoded.
/// </summary>
public static class PngCard
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private const int MaxChunks = 100_000;

    public static bool LooksLikePng(ReadOnlySpan<byte> data) => data.StartsWith(Signature);

    /// <summary>The card JSON inside a PNG (<c>ccv3</c> wins over <c>chara</c>) and the image without card chunks.</summary>
    public static (string Json, byte[] Image) Read(byte[] png)
    {
        string? chara = null, ccv3 = null;
        using var image = new MemoryStream(png.Length);
        image.Write(Signature);
        var pos = Signature.Length;
        var sawEnd = false;
        for (var count = 0; pos < png.Length && !sawEnd; count++)
        {
            if (count > MaxChunks) throw ImportProblems.Invalid("invalid_png", "The PNG has too many chunks.");
            if (png.Length - pos < 12) throw ImportProblems.Invalid("invalid_png", $"The PNG is cut short at byte {pos}.");
            var length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            if (length > int.MaxValue || length > png.Length - pos - 12)
                throw ImportProblems.Invalid("invalid_png", $"A PNG chunk at byte {pos} claims {length} bytes, more than the file holds.");
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var body = png.AsSpan(pos + 8, (int)length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + (int)length));
            if (crc != Crc(png.AsSpan(pos + 4, 4 + (int)length)))
                throw ImportProblems.Invalid("invalid_png", $"The PNG chunk '{Printable(type)}' at byte {pos} has a bad checksum.");
            var keep = true;
            if (type == "tEXt" && body.IndexOf((byte)0) is var nul and > 0)
            {
                var keyword = Encoding.Latin1.GetString(body[..nul]);
                if (keyword is "chara" or "ccv3")
                {
                    keep = false;
                    var text = DecodeBase64Json(body[(nul + 1)..], keyword);
                    if (keyword == "chara") chara = text; else ccv3 = text;
                }
            }
            if (keep) image.Write(png, pos, 12 + (int)length);
            sawEnd = type == "IEND";
            pos += 12 + (int)length;
        }
        if (!sawEnd) throw ImportProblems.Invalid("invalid_png", "The PNG has no IEND chunk: the file is incomplete.");
        var json = ccv3 ?? chara ?? throw ImportProblems.Invalid("card_chunk_missing",
            "The PNG holds no character card: it has no 'chara' (V2) or 'ccv3' (V3) text chunk.");
        return (json, image.ToArray());
    }

    /// <summary>The image with the card's chunks (both when V3) inserted before IEND; any old card chunks are dropped.</summary>
    public static byte[] Write(byte[]? image, string? v2Json, string? v3Json)
    {
        // The image came from an import or an author's edit: one whose chunks do not add up (a length past the end, or so
        // large that the walk below would wrap round) is replaced, never walked.
        var source = image is { Length: > 0 } && IsWellFormed(image) ? image : Placeholder();
        using var output = new MemoryStream(source.Length + (v2Json?.Length ?? 0) * 2 + (v3Json?.Length ?? 0) * 2);
        output.Write(Signature);
        var pos = Signature.Length;
        while (pos + 12 <= source.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(source.AsSpan(pos));
            var type = Encoding.ASCII.GetString(source, pos + 4, 4);
            if (type == "IEND")
            {
                if (v2Json is not null) WriteText(output, "chara", v2Json);
                if (v3Json is not null) WriteText(output, "ccv3", v3Json);
            }
            var isCard = type == "tEXt" && source.AsSpan(pos + 8, length) is var b && (b.StartsWith("chara\0"u8) || b.StartsWith("ccv3\0"u8));
            if (!isCard) output.Write(source, pos, 12 + length);
            pos += 12 + length;
            if (type == "IEND") break; // bytes after it are not part of the image
        }
        return output.ToArray();
    }

    /// <summary>A PNG signature, then chunks that each fit in what is left, up to an IEND.</summary>
    private static bool IsWellFormed(byte[] png)
    {
        if (!LooksLikePng(png)) return false;
        var pos = (long)Signature.Length;
        for (var count = 0; count <= MaxChunks && png.Length - pos >= 12; count++)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan((int)pos));
            if (length > png.Length - pos - 12) return false;
            if (png.AsSpan((int)pos + 4, 4).SequenceEqual("IEND"u8)) return true;
            pos += 12 + length;
        }
        return false;
    }

    private static void WriteText(Stream output, string keyword, string json)
    {
        var data = Encoding.Latin1.GetBytes(keyword + "\0" + Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));
        WriteChunk(output, "tEXt", data);
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        var typed = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type, typed);
        data.CopyTo(typed.AsSpan(4));
        output.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc(typed));
        output.Write(word);
    }

    /// <summary>A 1×1 grey PNG for worlds that have no image of their own.</summary>
    private static byte[] Placeholder()
    {
        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, 1);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], 1);
        header[8] = 8; // bit depth; colour type 0 (grey), default compression, filter and interlace
        WriteChunk(png, "IHDR", header);
        using (var pixels = new MemoryStream())
        {
            using (var z = new ZLibStream(pixels, CompressionLevel.Optimal, leaveOpen: true)) z.Write([0, 0x80]);
            WriteChunk(png, "IDAT", pixels.ToArray());
        }
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static string DecodeBase64Json(ReadOnlySpan<byte> latin1, string keyword)
    {
        if (latin1.Length > ImportProblems.MaxJsonBytes * 4L / 3 + 4)
            throw ImportProblems.TooLarge($"The '{keyword}' chunk is larger than {ImportProblems.MaxJsonBytes} bytes of card JSON.");
        var bytes = new byte[latin1.Length];
        if (!Convert.TryFromBase64Chars(Encoding.Latin1.GetString(latin1).Trim(), bytes, out var written))
            throw ImportProblems.Invalid("invalid_card", $"The '{keyword}' chunk is not base64-encoded card JSON.");
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
        }
        catch (DecoderFallbackException)
        {
            throw ImportProblems.Invalid("invalid_card", $"The '{keyword}' chunk does not hold UTF-8 text.");
        }
    }

    private static uint Crc(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(data);

    private static string Printable(string s) => new(s.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
}
