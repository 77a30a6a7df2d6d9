using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Loom.Cli.Output;

/// <summary>What commands print: aligned tables and key/value blocks for people, the server's JSON for <c>--json</c>.</summary>
public static class Printer
{
    public static TextWriter Out => Console.Out;

    /// <summary>The server's answer, indented; unchanged otherwise so scripts see exactly the API's fields.</summary>
    public static void Json(string json)
    {
        using var doc = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            doc.WriteTo(writer);
        }
        Out.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    public static void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        if (all.Count == 0)
        {
            Out.WriteLine("(none)");
            return;
        }
        var widths = headers.Select((h, i) => Math.Max(Width(h), all.Max(r => Width(r[i])))).ToArray();
        Out.WriteLine(Row(headers, widths));
        foreach (var row in all) Out.WriteLine(Row(row, widths));
    }

    public static void Fields(params (string Name, string? Value)[] fields)
    {
        var width = fields.Max(f => f.Name.Length) + 1;
        foreach (var (name, value) in fields)
        {
            if (value is not null) Out.WriteLine($"{(name + ":").PadRight(width)} {value}");
        }
    }

    public static string Time(DateTime? time) => time?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";

    public static string Time(DateTimeOffset? time) => time is { } t ? Time(t.UtcDateTime) : "-";

    public static string Usd(decimal cost) => "$" + cost.ToString("0.000000", CultureInfo.InvariantCulture);

    public static string Tokens(Api.Usage usage) =>
        string.Create(CultureInfo.InvariantCulture, $"{usage.PromptTokens} prompt + {usage.CompletionTokens} completion tokens, {Usd(usage.CostUsd)}");

    private static string Row(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c + new string(' ', widths[i] - Width(c)))).TrimEnd();

    /// <summary>Terminal columns: CJK and full-width characters take two (canon headings are often Chinese).</summary>
    private static int Width(string text) => text.Sum(c => c is >= '\u1100' and <= '\u115f' or >= '\u2e80' and <= '\ua4cf' or >= '\uac00' and <= '\ud7a3'
        or >= '\uf900' and <= '\ufaff' or >= '\ufe30' and <= '\ufe4f' or >= '\uff00' and <= '\uff60' or >= '\uffe0' and <= '\uffe6' ? 2 : 1);
}
