using System.Globalization;
using System.Net;
using System.Text;

namespace Loom.LoadTests.Reporting;

/// <summary>A named line of (x, y) points; NaN y values break the line.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

/// <summary>
/// Inline SVG charts for the HTML report: drawn here, with no script, font or stylesheet from anywhere else, so the
/// report opens offline and prints as it shows.
/// </summary>
public static class SvgChart
{
    private const int Width = 640, Height = 270, Left = 64, Right = 16, Top = 44, Bottom = 44;

    public static readonly IReadOnlyList<string> Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>Lines over a shared x axis (seconds into a phase, typically). Empty when no series has a point.</summary>
    public static string Line(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, double? yMinimum = 0)
    {
        var points = series.SelectMany(s => s.Points).Where(p => !double.IsNaN(p.Y) && !double.IsInfinity(p.Y)).ToArray();
        if (points.Length == 0) return "";
        var xMax = Math.Max(points.Max(p => p.X), 1);
        var xMin = Math.Min(points.Min(p => p.X), 0);
        var yMax = points.Max(p => p.Y);
        var yMin = yMinimum ?? points.Min(p => p.Y);
        var (yTicks, yTop) = Ticks(yMin, yMax <= yMin ? yMin + 1 : yMax);
        var (xTicks, xTop) = Ticks(xMin, xMax);
        double X(double x) => Left + (x - xMin) / (xTop - xMin) * (Width - Left - Right);
        double Y(double y) => Height - Bottom - (y - yMin) / (yTop - yMin) * (Height - Top - Bottom);

        var svg = Open(title);
        Axes(svg, xTicks.Select(t => (X(t), Label(t))), yTicks.Select(t => (Y(t), Label(t))), xLabel, yLabel);
        for (var i = 0; i < series.Count; i++)
        {
            var color = Palette[i % Palette.Count];
            var path = new StringBuilder();
            var pen = false;
            foreach (var (x, y) in series[i].Points)
            {
                if (double.IsNaN(y) || double.IsInfinity(y)) { pen = false; continue; }
                path.Append(pen ? " L" : " M").Append(F(X(x))).Append(',').Append(F(Y(y)));
                pen = true;
            }
            var single = series[i].Points.Count(p => !double.IsNaN(p.Y)) == 1;
            if (single)
            {
                var (x, y) = series[i].Points.First(p => !double.IsNaN(p.Y));
                svg.Append($"<circle cx=\"{F(X(x))}\" cy=\"{F(Y(y))}\" r=\"3\" fill=\"{color}\"/>");
            }
            else if (path.Length > 0)
            {
                svg.Append($"<path d=\"{path.ToString().Trim()}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\"{(series[i].Dashed ? " stroke-dasharray=\"5 3\"" : "")}/>");
            }
        }
        Legend(svg, series.Select(s => s.Name).ToArray());
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Vertical bars, one per labelled category (histogram buckets).</summary>
    public static string Bars(string title, string xLabel, string yLabel, IReadOnlyList<(string Label, double Value)> bars)
    {
        if (bars.Count == 0 || bars.All(b => b.Value <= 0)) return "";
        var (yTicks, yTop) = Ticks(0, bars.Max(b => b.Value));
        var plotWidth = Width - Left - Right;
        var step = plotWidth / (double)bars.Count;
        double Y(double y) => Height - Bottom - y / yTop * (Height - Top - Bottom);

        var svg = Open(title);
        // Label every bar when few, else about eight evenly spaced ones, so labels never overlap.
        var every = Math.Max(1, (int)Math.Ceiling(bars.Count / 8.0));
        var xTicks = bars.Select((b, i) => (i, b.Label)).Where(t => t.i % every == 0).Select(t => (Left + (t.i + 0.5) * step, t.Label));
        Axes(svg, xTicks, yTicks.Select(t => (Y(t), Label(t))), xLabel, yLabel);
        for (var i = 0; i < bars.Count; i++)
        {
            if (bars[i].Value <= 0) continue;
            var x = Left + i * step + step * 0.1;
            svg.Append($"<rect x=\"{F(x)}\" y=\"{F(Y(bars[i].Value))}\" width=\"{F(step * 0.8)}\" height=\"{F(Y(0) - Y(bars[i].Value))}\" fill=\"{Palette[0]}\">")
               .Append($"<title>{E(bars[i].Label)}: {F(bars[i].Value)}</title></rect>");
        }
        return svg.Append("</svg>").ToString();
    }

    /// <summary>
    /// One row per target (a bullet chart): the measured value as a bar (green when the target is met, red when not),
    /// the target as a dashed line and the physical bound as a solid line, each row on its own scale.
    /// </summary>
    public static string Targets(string title, IReadOnlyList<CheckResult> checks)
    {
        var rows = checks.Where(c => !double.IsNaN(c.MeasuredValue) && !double.IsNaN(c.TargetValue)).ToArray();
        if (rows.Length == 0) return "";
        const int rowHeight = 34, labelWidth = 250, valueWidth = 150;
        var height = Top + rows.Length * rowHeight + 30;
        var barWidth = Width + 160 - labelWidth - valueWidth - Right;
        var svg = new StringBuilder($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {Width + 160} {height}\" width=\"{Width + 160}\" height=\"{height}\" role=\"img\">")
            .Append($"<title>{E(title)}</title><text x=\"8\" y=\"18\" class=\"ct\">{E(title)}</text>");
        for (var i = 0; i < rows.Length; i++)
        {
            var c = rows[i];
            var y = Top + i * rowHeight;
            var max = new[] { c.MeasuredValue, c.TargetValue, double.IsNaN(c.BoundValue) ? 0 : c.BoundValue }.Max() * 1.15;
            if (max <= 0) max = 1;
            double X(double v) => labelWidth + Math.Clamp(v / max, 0, 1) * barWidth;
            var color = c.Status == CheckStatus.Pass ? "#2ca02c" : c.Status == CheckStatus.Fail ? "#d62728" : "#999";
            svg.Append($"<text x=\"8\" y=\"{y + 17}\" class=\"cl\">{E(Truncate(c.Name, 40))}</text>")
               .Append($"<rect x=\"{labelWidth}\" y=\"{y + 4}\" width=\"{barWidth}\" height=\"20\" fill=\"#f1f1f1\"/>")
               .Append($"<rect x=\"{labelWidth}\" y=\"{y + 8}\" width=\"{F(X(c.MeasuredValue) - labelWidth)}\" height=\"12\" fill=\"{color}\"><title>measured {E(c.Measured)}</title></rect>")
               .Append($"<line x1=\"{F(X(c.TargetValue))}\" x2=\"{F(X(c.TargetValue))}\" y1=\"{y + 1}\" y2=\"{y + 27}\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"3 2\"><title>target {E(c.Target)}</title></line>");
            if (!double.IsNaN(c.BoundValue))
                svg.Append($"<line x1=\"{F(X(c.BoundValue))}\" x2=\"{F(X(c.BoundValue))}\" y1=\"{y + 1}\" y2=\"{y + 27}\" stroke=\"#1f77b4\" stroke-width=\"3\"><title>bound {E(c.Bound)}</title></line>");
            svg.Append($"<text x=\"{labelWidth + barWidth + 8}\" y=\"{y + 17}\" class=\"cl\">{E(c.Measured)} ({E(c.Target)})</text>");
        }
        var ly = Top + rows.Length * rowHeight + 16;
        svg.Append($"<rect x=\"8\" y=\"{ly - 9}\" width=\"12\" height=\"10\" fill=\"#2ca02c\"/><text x=\"24\" y=\"{ly}\" class=\"cl\">measured (green met, red missed)</text>")
           .Append($"<line x1=\"240\" x2=\"258\" y1=\"{ly - 4}\" y2=\"{ly - 4}\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/><text x=\"262\" y=\"{ly}\" class=\"cl\">target</text>")
           .Append($"<line x1=\"320\" x2=\"338\" y1=\"{ly - 4}\" y2=\"{ly - 4}\" stroke=\"#1f77b4\" stroke-width=\"3\"/><text x=\"342\" y=\"{ly}\" class=\"cl\">physical bound</text>");
        return svg.Append("</svg>").ToString();
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static StringBuilder Open(string title) =>
        new StringBuilder($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\">")
            .Append($"<title>{E(title)}</title><text x=\"{Left}\" y=\"16\" class=\"ct\">{E(title)}</text>");

    private static void Axes(StringBuilder svg, IEnumerable<(double X, string Label)> xTicks, IEnumerable<(double Y, string Label)> yTicks, string xLabel, string yLabel)
    {
        var x0 = Left;
        var y0 = Height - Bottom;
        foreach (var (y, label) in yTicks)
            svg.Append($"<line x1=\"{x0}\" x2=\"{Width - Right}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#e5e5e5\"/>")
               .Append($"<text x=\"{x0 - 6}\" y=\"{F(y + 4)}\" class=\"ax\" text-anchor=\"end\">{E(label)}</text>");
        foreach (var (x, label) in xTicks)
            svg.Append($"<line x1=\"{F(x)}\" x2=\"{F(x)}\" y1=\"{y0}\" y2=\"{y0 + 4}\" stroke=\"#555\"/>")
               .Append($"<text x=\"{F(x)}\" y=\"{y0 + 16}\" class=\"ax\" text-anchor=\"middle\">{E(label)}</text>");
        svg.Append($"<line x1=\"{x0}\" x2=\"{Width - Right}\" y1=\"{y0}\" y2=\"{y0}\" stroke=\"#555\"/>")
           .Append($"<line x1=\"{x0}\" x2=\"{x0}\" y1=\"{Top}\" y2=\"{y0}\" stroke=\"#555\"/>")
           .Append($"<text x=\"{(x0 + Width - Right) / 2}\" y=\"{Height - 8}\" class=\"ax\" text-anchor=\"middle\">{E(xLabel)}</text>")
           .Append($"<text transform=\"translate(14 {(Top + y0) / 2}) rotate(-90)\" class=\"ax\" text-anchor=\"middle\">{E(yLabel)}</text>");
    }

    private static void Legend(StringBuilder svg, IReadOnlyList<string> names)
    {
        var x = Width - Right - 8.0;
        for (var i = names.Count - 1; i >= 0; i--)
        {
            var w = 18 + names[i].Length * 6.2;
            x -= w;
            // The legend has its own line under the title, so long series names never cover it.
            svg.Append($"<rect x=\"{F(x)}\" y=\"23\" width=\"10\" height=\"10\" fill=\"{Palette[i % Palette.Count]}\"/>")
               .Append($"<text x=\"{F(x + 13)}\" y=\"32\" class=\"ax\">{E(names[i])}</text>");
        }
    }

    /// <summary>About five "nice" ticks (1, 2 or 5 × 10^n apart) from <paramref name="min"/> to at least <paramref name="max"/>.</summary>
    public static (IReadOnlyList<double> Ticks, double Top) Ticks(double min, double max)
    {
        if (max <= min) max = min + 1;
        var raw = (max - min) / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        var top = Math.Ceiling(max / step - 1e-9) * step;
        var start = Math.Floor(min / step) * step;
        var ticks = new List<double>();
        for (var t = start; t <= top + step / 2; t += step) ticks.Add(Math.Round(t, 10));
        return (ticks, top);
    }

    private static string Label(double v) => Math.Abs(v) switch
    {
        >= 1_000_000 => (v / 1_000_000).ToString("0.#", CultureInfo.InvariantCulture) + "M",
        >= 10_000 => (v / 1000).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => v.ToString("0.###", CultureInfo.InvariantCulture),
    };
}
