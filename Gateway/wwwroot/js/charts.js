// Bar charts drawn as SVG by hand (no chart library): one bar per label, the value printed on the bar, and a
// text alternative listing every value for screen readers.
import { h } from "./dom.js";

/** rows: [{ label, value, text }]; the tallest bar fills the chart. */
export function barChart(rows, { title, width = 640, barHeight = 22, format = String } = {}) {
  const labelWidth = Math.min(220, Math.max(80, ...rows.map((r) => r.label.length * 7)));
  const max = Math.max(...rows.map((r) => r.value), 0) || 1;
  const height = rows.length * (barHeight + 8) + 8;
  const svg = h("svg:svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", height, role: "img",
    "aria-label": `${title}: ${rows.map((r) => `${r.label} ${r.text ?? format(r.value)}`).join("; ") || "no data"}`, class: "bars" });
  rows.forEach((r, i) => {
    const y = 8 + i * (barHeight + 8);
    const w = Math.max(2, ((width - labelWidth - 120) * r.value) / max);
    svg.append(
      h("svg:text", { x: labelWidth - 8, y: y + barHeight * 0.7, "text-anchor": "end", class: "label" }, r.label.length > 30 ? r.label.slice(0, 29) + "…" : r.label),
      h("svg:rect", { x: labelWidth, y, width: w, height: barHeight, rx: 3, class: "bar" }, h("svg:title", {}, `${r.label}: ${r.text ?? format(r.value)}`)),
      h("svg:text", { x: labelWidth + w + 6, y: y + barHeight * 0.7, class: "value" }, r.text ?? format(r.value)));
  });
  return svg;
}

/** A budget gauge: how much of a cap is used, and what is left. */
export function gauge(label, used, cap, format) {
  const width = 300, frac = cap ? Math.min(1, used / cap) : 0;
  return h("div", { class: "gauge" },
    h("span", {}, label),
    h("svg:svg", { viewBox: `0 0 ${width} 14`, width, height: 14, role: "img", "aria-label": `${label}: ${format(used)} of ${cap ? format(cap) : "no cap"}` },
      h("svg:rect", { x: 0, y: 0, width, height: 14, rx: 7, class: "track" }),
      h("svg:rect", { x: 0, y: 0, width: Math.max(frac * width, used ? 3 : 0), height: 14, rx: 7, class: frac > 0.9 ? "fill warn" : "fill" })),
    h("span", { class: "muted" }, cap ? `${format(Math.max(cap - used, 0))} left of ${format(cap)}` : `${format(used)} used · no cap`));
}
