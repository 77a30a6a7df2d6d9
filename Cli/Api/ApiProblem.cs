using System.Net;
using System.Text;
using System.Text.Json;

namespace Loom.Cli.Api;

/// <summary>
/// An error answer from the gateway. The message is the server's problem+json <c>title</c> and <c>detail</c>, then its
/// field <c>errors</c>, so the user reads what the server said rather than a bare status code.
/// </summary>
public sealed class ApiProblem(int status, string? title, string? detail, string? code, IReadOnlyDictionary<string, string[]> errors)
    : CliException(ExitCodes.ForStatus(status), Describe(status, title, detail, errors))
{
    public int Status { get; } = status;
    public string? Title { get; } = title;
    public string? Detail { get; } = detail;
    public string? Code { get; } = code;
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public static ApiProblem From(HttpStatusCode status, string? reason, string body)
    {
        string? title = null, detail = null, code = null;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                title = Text(root, "title");
                detail = Text(root, "detail");
                code = Text(root, "code");
                if (root.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in fields.EnumerateObject())
                    {
                        errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                            ? [.. field.Value.EnumerateArray().Select(m => m.ToString())]
                            : [field.Value.ToString()];
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not problem+json (a proxy's page, an empty body): the status line is all there is.
        }
        return new ApiProblem((int)status, title ?? reason, detail, code, errors);
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Describe(int status, string? title, string? detail, IReadOnlyDictionary<string, string[]> errors)
    {
        var text = new StringBuilder($"{status} {title ?? "Error"}");
        if (!string.IsNullOrWhiteSpace(detail) && detail != title) text.Append(": ").Append(detail);
        foreach (var (field, messages) in errors)
        {
            foreach (var message in messages) text.Append('\n').Append("  ").Append(field).Append(": ").Append(message);
        }
        return text.ToString();
    }
}
