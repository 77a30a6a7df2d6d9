using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace Loom.Gateway.Http;

/// <summary>
/// Says what is wrong with a request's parameters or body in the client's terms: the parameter or field name and the
/// kind of value expected ("limit must be an integer"). The framework's own messages name .NET types
/// (<c>Nullable&lt;int&gt; limit</c>, <c>System.Nullable`1[System.Int32]</c>) and are never passed through.
/// </summary>
public static partial class RequestProblems
{
    private const string NotJson = "The body is not valid JSON for this request";

    /// <summary>A failure of the framework's parameter binding or body reading (status 400, 408, 413 or 415).</summary>
    public static ProblemDetails FromBadRequest(BadHttpRequestException bad, Endpoint? endpoint, HttpLimitsOptions? limits)
    {
        if (bad.InnerException is JsonException json) return FromJson(json, endpoint);
        switch (bad.StatusCode)
        {
            case 413:
                return Problem(413, "body_too_large", "Request body too large", limits is null
                    ? "The request body is larger than this endpoint accepts."
                    : BodySizeLimit.TooLarge(BodySizeLimit.LimitFor(endpoint, limits)));
            case 415:
                return Problem(415, "unsupported_media_type", "Unsupported media type",
                    $"Send the body as {AcceptedTypes(endpoint)}.");
            case 408:
                return Problem(408, "request_timeout", "Request timeout", "The request body arrived too slowly.");
            case not 400:
                return Problem(bad.StatusCode, null, null, null);
        }

        var message = bad.Message;
        var parameter = ParameterName().Match(message) is { Success: true } m ? m.Groups["name"].Value : null;
        if (message.Contains("no body was provided", StringComparison.Ordinal) || (parameter is not null && IsBody(endpoint, parameter) && message.StartsWith("Required ", StringComparison.Ordinal)))
        {
            return Problem(400, "malformed_request", "Malformed request", "A JSON body is required.");
        }
        if (parameter is not null && message.StartsWith("Required ", StringComparison.Ordinal))
        {
            return Invalid(parameter, $"{parameter} is required.");
        }
        if (parameter is not null && message.StartsWith("Failed to bind ", StringComparison.Ordinal))
        {
            var type = ParameterType(endpoint, parameter);
            return Invalid(parameter, type is null ? $"{parameter} has the wrong format." : $"{parameter} must be {Expected(type)}.");
        }
        // Kestrel's own body errors (a truncated or malformed chunked body, ...): nothing in them is the client's vocabulary.
        return Problem(400, "malformed_request", "Malformed request", "The request body could not be read: it ended early or is not well-formed.");
    }

    /// <summary>A JSON body that does not parse, or whose value at some path has the wrong kind.</summary>
    public static ProblemDetails FromJson(JsonException json, Endpoint? endpoint)
    {
        var field = Field(json.Path);
        string reason;
        if (json.InnerException is InvalidOperationException { Message: var inner } && inner.Contains("UTF-16", StringComparison.Ordinal))
        {
            // A string with an unpaired surrogate escape (e.g. "\ud800"): it is a string, just not text.
            reason = $"{field ?? "the body"} is not valid Unicode text (it has an unpaired surrogate)";
        }
        else if (json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal) && BodyType(endpoint) is { } bodyType)
        {
            var type = Resolve(bodyType, json.Path);
            reason = field is null
                ? $"the body must be {(type is null ? "a JSON object" : Expected(type))}"
                : $"{field} must be {(type is null ? "a value of another kind" : Expected(type))}";
        }
        else
        {
            var where = json.LineNumber is { } line ? $" near line {line + 1}, position {(json.BytePositionInLine ?? 0) + 1}" : "";
            reason = field is null ? $"it is malformed{where}" : $"it is malformed or has the wrong shape in {field}{where}";
        }
        var problem = field is null
            ? new ProblemDetails()
            : new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [reason + "."] });
        problem.Status = 400;
        problem.Title = "Malformed request";
        problem.Detail = $"{NotJson}: {reason}.";
        problem.Extensions["code"] = "malformed_json";
        return problem;
    }

    /// <summary>What a client should send for a .NET type, in JSON and query-string words.</summary>
    public static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum) return "one of " + string.Join(", ", Enum.GetNames(type).Select(JsonNamingPolicy.CamelCase.ConvertName));
        return Type.GetTypeCode(type) switch
        {
            TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32
                or TypeCode.Int64 or TypeCode.UInt64 => "an integer",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            TypeCode.Boolean => "true or false",
            TypeCode.String or TypeCode.Char => "a string",
            TypeCode.DateTime => "an ISO-8601 date and time",
            _ when type == typeof(DateTimeOffset) => "an ISO-8601 date and time",
            _ when type == typeof(Guid) => "a UUID",
            _ when DictionaryValueType(type) is not null => "an object",
            _ when typeof(IEnumerable).IsAssignableFrom(type) => "an array",
            _ => "an object",
        };
    }

    private static ProblemDetails Invalid(string field, string message)
    {
        var problem = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = 400, Title = "Invalid request", Detail = message,
        };
        problem.Extensions["code"] = "validation_failed";
        return problem;
    }

    private static ProblemDetails Problem(int status, string? code, string? title, string? detail)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (code is not null) problem.Extensions["code"] = code;
        return problem;
    }

    private static MethodInfo? Handler(Endpoint? endpoint) => endpoint?.Metadata.GetMetadata<MethodInfo>();

    private static Type? ParameterType(Endpoint? endpoint, string name) =>
        Handler(endpoint)?.GetParameters().FirstOrDefault(p => p.Name == name)?.ParameterType;

    private static bool IsBody(Endpoint? endpoint, string name) => BodyType(endpoint) is { } body && ParameterType(endpoint, name) == body;

    private static Type? BodyType(Endpoint? endpoint) => endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;

    private static string AcceptedTypes(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.ContentTypes is { Count: > 0 } types
            ? string.Join(" or ", types)
            : "application/json";

    /// <summary><c>$.llm.temperature</c> → <c>llm.temperature</c>; the root (<c>$</c>) is no field.</summary>
    private static string? Field(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return null;
        var parts = PathParts().Matches(path).Select(m => m.Groups["name"].Success ? m.Groups["name"].Value
            : m.Groups["quoted"].Success ? m.Groups["quoted"].Value.Replace("''", "'", StringComparison.Ordinal)
            : $"[{m.Groups["index"].Value}]");
        return string.Join('.', parts).Replace(".[", "[", StringComparison.Ordinal);
    }

    /// <summary>The declared type at a JSON path inside the body type, following properties, dictionaries and arrays.</summary>
    private static Type? Resolve(Type root, string? path)
    {
        var type = root;
        if (string.IsNullOrEmpty(path)) return type;
        foreach (Match m in PathParts().Matches(path))
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (m.Groups["index"].Success)
            {
                type = ElementType(type);
            }
            else if (DictionaryValueType(type) is { } value)
            {
                type = value;
            }
            else
            {
                var name = m.Groups["name"].Success ? m.Groups["name"].Value : m.Groups["quoted"].Value;
                type = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .FirstOrDefault(p => string.Equals(p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? p.Name, name, StringComparison.OrdinalIgnoreCase))
                    ?.PropertyType;
            }
            if (type is null) return null;
        }
        return type;
    }

    private static Type? DictionaryValueType(Type type) =>
        type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>))?.GetGenericArguments()[1];

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    /// <summary>The parameter name in the framework's <c>parameter "Type name"</c> (the type may hold spaces: generics).</summary>
    [GeneratedRegex("parameter \"[^\"]* (?<name>[^\" ]+)\"")]
    private static partial Regex ParameterName();

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>\d+)\]")]
    private static partial Regex PathParts();
}
