using System.Globalization;
using Loom.LoadTests.Core;

namespace Loom.LoadTests.Reporting;

/// <summary>Cell formatting shared by all scenario tables, so every report reads the same.</summary>
public static class Cells
{
    public static string Ms(double ms) => Durations.FormatMs(ms);

    public static string Rate(double perSecond) =>
        double.IsNaN(perSecond) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{perSecond:0.0}/s");

    public static string Percent(double fraction) =>
        double.IsNaN(fraction) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:0.##} %");

    public static string CpuPercent(double percent) =>
        double.IsNaN(percent) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{percent:0} %");

    public static string Mb(double mb) =>
        double.IsNaN(mb) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{mb:0} MB");

    public static string Seconds(double s) =>
        double.IsNaN(s) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{s:0.00} s");

    /// <summary>Transferred bytes: "0 B", "12.3 KB", "4.56 MB" (1 KB = 1,024 B).</summary>
    public static string DataSize(long bytes) => bytes switch
    {
        >= 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.00} GB"),
        >= 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.00} MB"),
        >= 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KB"),
        _ => $"{bytes} B",
    };

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Bytes(int n) => n switch
    {
        >= 1024 * 1024 => $"{n / (1024 * 1024)} MB",
        >= 1024 => $"{n / 1024} KB",
        _ => $"{n} B",
    };

    /// <summary>"n/a" for steps the target does not implement, else <paramref name="value"/>.</summary>
    public static string OrNa(StepSummary? s, Func<StepSummary, string> value) => s is null || s.IsNotAvailable ? "n/a" : value(s);

    public static string Errors(IReadOnlyDictionary<string, long> errors) =>
        errors.Count == 0 ? "–" : string.Join(", ", errors.Select(e => $"{e.Key} ×{e.Value}"));
}
