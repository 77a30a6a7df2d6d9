using System.Text.Json;
using System.Text.Json.Serialization;

namespace Loom.LoadTests.Reporting;

public static class JsonReportWriter
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // NaN marks "not measured"; JSON has no NaN, so it is written as a string rather than failing the report.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string Render(RunReport report) => JsonSerializer.Serialize(report, Options);
}
