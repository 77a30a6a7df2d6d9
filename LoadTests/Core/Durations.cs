using System.Globalization;

namespace Loom.LoadTests.Core;

/// <summary>Parses and prints the short duration forms the CLI accepts ("1.5s", "250ms", "2m", "30").</summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim().ToLowerInvariant();
        double factorMs;
        string number;
        if (s.EndsWith("ms", StringComparison.Ordinal)) { factorMs = 1; number = s[..^2]; }
        else if (s.EndsWith('s')) { factorMs = 1000; number = s[..^1]; }
        else if (s.EndsWith('m')) { factorMs = 60_000; number = s[..^1]; }
        else if (s.EndsWith('h')) { factorMs = 3_600_000; number = s[..^1]; }
        else { factorMs = 1000; number = s; } // a bare number means seconds

        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
            || double.IsNaN(n) || double.IsInfinity(n) || n < 0 || n * factorMs > TimeSpan.FromDays(1).TotalMilliseconds)
            return false;
        value = TimeSpan.FromMilliseconds(n * factorMs);
        return true;
    }

    /// <summary>Human form of a latency: "850 µs", "12.3 ms", "1.52 s".</summary>
    public static string FormatMs(double ms)
    {
        if (double.IsNaN(ms)) return "n/a";
        if (ms == 0) return "0 ms";
        if (ms < 1) return string.Create(CultureInfo.InvariantCulture, $"{ms * 1000:0} µs");
        if (ms < 1000) return string.Create(CultureInfo.InvariantCulture, $"{ms:0.0} ms");
        if (ms >= 120_000) return string.Create(CultureInfo.InvariantCulture, $"{ms / 60_000:0.#} min");
        return string.Create(CultureInfo.InvariantCulture, $"{ms / 1000:0.00} s");
    }

    public static string Format(TimeSpan t) => FormatMs(t.TotalMilliseconds);
}
