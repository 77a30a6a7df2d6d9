using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Loom.Worlds;

namespace Loom.Canon;

/// <summary>Text helpers shared by the parser, the hasher, the differ and the gateway's raw Markdown bodies.</summary>
public static class CanonText
{
    /// <summary>
    /// Strictly decodes UTF-8 (a leading BOM is dropped). On invalid bytes returns false with an
    /// <c>invalid_utf8</c> issue that names the line of the first bad byte, instead of silently substituting U+FFFD.
    /// </summary>
    public static bool TryDecodeUtf8(ReadOnlySpan<byte> bytes, out string text, out CanonIssue? issue) =>
        TryDecodeUtf8(bytes, fileName: null, out text, out issue);

    /// <inheritdoc cref="TryDecodeUtf8(ReadOnlySpan{byte}, out string, out CanonIssue?)"/>
    public static bool TryDecodeUtf8(ReadOnlySpan<byte> bytes, string? fileName, out string text, out CanonIssue? issue)
    {
        if (bytes.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }

        var buffer = ArrayPool<char>.Shared.Rent(Math.Max(bytes.Length, 1));
        try
        {
            var status = Utf8.ToUtf16(bytes, buffer, out var bytesRead, out var charsWritten, replaceInvalidSequences: false);
            if (status == OperationStatus.Done)
            {
                text = new string(buffer, 0, charsWritten);
                issue = null;
                return true;
            }

            var line = bytes[..bytesRead].Count((byte)'\n') + 1;
            text = "";
            issue = new CanonIssue
            {
                Code = CanonIssueCodes.InvalidUtf8,
                Message = $"The file is not valid UTF-8 (first bad byte at offset {bytesRead}).",
                File = fileName,
                Line = line,
            };
            return false;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>CRLF and lone CR become LF, so the same canon edited on Windows or Unix hashes, diffs and parses alike.</summary>
    public static string NormalizeNewlines(string text) =>
        text.Contains('\r') ? text.Replace("\r\n", "\n").Replace('\r', '\n') : text;

    /// <summary>Line (1-based) of the first unpaired UTF-16 surrogate: such a string has no UTF-8 form.</summary>
    internal static int? FindLoneSurrogateLine(string text)
    {
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
            }
            else if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                }
                else
                {
                    return line;
                }
            }
            else if (char.IsLowSurrogate(c))
            {
                return line;
            }
        }

        return null;
    }

    /// <summary>UTF-8 size without allocating; lone surrogates count as the 3-byte replacement they would become.</summary>
    internal static int Utf8ByteCount(string text) => Encoding.UTF8.GetByteCount(text);
}
