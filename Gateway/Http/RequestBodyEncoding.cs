using Loom.Errors;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Loom.Gateway.Http;

/// <summary>
/// The API reads bodies as sent, in UTF-8 (RFC 8259 for JSON; canon Markdown is decoded as UTF-8). Refused here, once,
/// with 415, instead of failing inside whichever reader meets them first:
/// <list type="bullet">
/// <item>a body declaring another or an unknown charset (the JSON reader throws on an unknown encoding: a 500);</item>
/// <item>a body with a content coding (gzip, br, ...): the gateway does not decompress, and reading compressed bytes as
/// JSON would either fail as "malformed" or, for a client that only labels a plain body, silently succeed. RFC 9110
/// §15.5.16 asks for <c>Accept-Encoding</c> on such an answer to say which codings would do: none but identity.</item>
/// </list>
/// </summary>
public sealed class RequestBodyEncoding(RequestDelegate next, ProblemJsonWriter writer)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (HasContentCoding(context.Request.Headers.ContentEncoding) && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != false)
        {
            context.Response.Headers.AcceptEncoding = "identity";
            return Refuse(context, "unsupported_content_encoding", "Bodies must not be compressed: send them without Content-Encoding.");
        }

        if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            && type.Charset.HasValue
            && !IsUtf8(HeaderUtilities.RemoveQuotes(type.Charset).ToString()))
        {
            return Refuse(context, "unsupported_charset", "Bodies must be UTF-8: send charset=utf-8 or no charset.");
        }
        return next(context);
    }

    /// <summary>Written here rather than thrown: the exception handler clears the response, and with it Accept-Encoding.</summary>
    private Task Refuse(HttpContext context, string code, string detail) =>
        writer.WriteAsync(context, ProblemMapping.Map(new LoomProblemException(415, code, "Unsupported media type", detail)).Problem);

    /// <summary>Any coding but <c>identity</c> (which means none), in any of the header's values or list items.</summary>
    private static bool HasContentCoding(Microsoft.Extensions.Primitives.StringValues values)
    {
        foreach (var value in values)
        {
            foreach (var coding in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!coding.Equals("identity", StringComparison.OrdinalIgnoreCase)) return true;
            }
        }
        return false;
    }

    private static bool IsUtf8(string charset) =>
        charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
        || charset.Equals("us-ascii", StringComparison.OrdinalIgnoreCase); // a subset of UTF-8
}
