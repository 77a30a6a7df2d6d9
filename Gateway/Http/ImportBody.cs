using Loom.Errors;

namespace Loom.Gateway.Http;

/// <summary>An imported file (card, lorebook, chat): the raw body, or the only file of a multipart form, read up to a limit.</summary>
public static class ImportBody
{
    /// <summary>Reads the file; past <paramref name="maxBytes"/> it stops reading and answers 413 <c>import_too_large</c>.</summary>
    public static async Task<byte[]> ReadFileAsync(this HttpRequest request, int maxBytes, string what, CancellationToken ct)
    {
        Stream source = request.Body;
        if (request.HasFormContentType)
        {
            var form = await ReadFormAsync(request, ct);
            if (form.Files.Count != 1) throw Problems.Invalid("file", $"Send exactly one file ({what}).");
            source = form.Files[0].OpenReadStream();
        }
        await using var _ = source == request.Body ? null : source;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > maxBytes)
                throw new LoomProblemException(413, "import_too_large", "Import too large", $"The file ({what}) may be at most {maxBytes} bytes.");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// The form, or 400 when the body is not the form its Content-Type says (a missing or wrong boundary, a truncated
    /// part): the framework's reader throws <see cref="InvalidDataException"/> or a bare <see cref="IOException"/> for
    /// those. Kestrel's own refusals (<see cref="BadHttpRequestException"/>, e.g. 413) and a client that went away keep
    /// their own answers.
    /// </summary>
    private static async Task<IFormCollection> ReadFormAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return await request.ReadFormAsync(ct);
        }
        catch (Exception ex) when (ex is InvalidDataException || (ex is IOException and not BadHttpRequestException && !ct.IsCancellationRequested))
        {
            throw new LoomProblemException(400, "malformed_form", "Malformed request",
                "The body is not a valid form of its Content-Type: send the file as the raw body, or as the one part of a multipart/form-data body with the boundary its Content-Type names.");
        }
    }
}
