using Loom.Errors;
using Microsoft.Net.Http.Headers;

namespace Loom.Gateway.Http;

/// <summary>
/// The API speaks UTF-8 (RFC 8259 for JSON; canon Markdown is decoded as UTF-8). A body declaring another or an unknown
/// charset is refused with 415 here, once, instead of failing inside whichever reader meets it first (the JSON
/// reader throws on an unknown encoding, which would be a 500).
/// </summary>
public sealed class RequestCharset(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            && type.Charset.HasValue
            && !IsUtf8(HeaderUtilities.RemoveQuotes(type.Charset).ToString()))
        {
            throw new LoomProblemException(415, "unsupported_charset", "Unsupported media type",
                "Bodies must be UTF-8: send charset=utf-8 or no charset.");
        }
        return next(context);
    }

    private static bool IsUtf8(string charset) =>
        charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
        || charset.Equals("us-ascii", StringComparison.OrdinalIgnoreCase); // a subset of UTF-8
}
