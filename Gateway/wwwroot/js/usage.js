// Usage: budgets left (GET /api/usage), cost per session and tokens/cost per day (from the sessions and their turns).
import { $, h, act, money, tokens } from "./dom.js";
import { api, all, sessionPath } from "./api.js";
import { barChart, gauge } from "./charts.js";

const ERR = "usage-error";
const MAX_SESSIONS = 20; // the per-day chart reads the turns of the most recent sessions only

export async function render() {
  await act(null, ERR, async () => {
    const [usage, sessions] = await Promise.all([api("/api/usage"), all("/api/sessions", 200)]);
    const b = usage.budget || {};
    const count = (n) => Number(n || 0).toLocaleString();
    $("budget").replaceChildren(
      h("p", {}, `All time: ${count(tokens(usage.total))} tokens · ${money(usage.total?.costUsd)} · ${count(usage.turns)} turn(s)`),
      gauge(`Today (${usage.day?.period ?? ""}) cost`, Number(usage.day?.usage?.costUsd || 0), Number(b.dailyUsd || 0), money),
      gauge(`This month (${usage.month?.period ?? ""}) cost`, Number(usage.month?.usage?.costUsd || 0), Number(b.monthlyUsd || 0), money),
      gauge("Today tokens", tokens(usage.day?.usage), Number(b.dailyTokens || 0), count),
      gauge("This month tokens", tokens(usage.month?.usage), Number(b.monthlyTokens || 0), count));

    const bySession = sessions.filter((s) => s.status !== "archived").sort((a, z) => (z.usage?.costUsd || 0) - (a.usage?.costUsd || 0)).slice(0, 15);
    $("chart-sessions").replaceChildren(barChart(bySession.map((s) => ({
      label: s.name, value: Number(s.usage?.costUsd || 0), text: `${money(s.usage?.costUsd)} · ${count(tokens(s.usage))} tok`,
    })), { title: "Cost per session" }));

    const recent = [...sessions].sort((a, z) => (z.updatedAt > a.updatedAt ? 1 : -1)).slice(0, MAX_SESSIONS);
    const days = new Map();
    for (const list of await Promise.all(recent.map((s) => all(sessionPath(s.sessionId, "/turns"), 1000).catch(() => [])))) {
      for (const t of list) {
        const day = (t.completedAt || t.createdAt || "").slice(0, 10);
        if (!day) continue;
        const d = days.get(day) || { tokens: 0, cost: 0 };
        d.tokens += tokens(t.usage);
        d.cost += Number(t.usage?.costUsd || 0);
        days.set(day, d);
      }
    }
    const rows = [...days.entries()].sort(([a], [z]) => a.localeCompare(z)).slice(-14);
    $("chart-days").replaceChildren(barChart(rows.map(([day, d]) => ({ label: day, value: d.tokens, text: `${count(d.tokens)} tok · ${money(d.cost)}` })),
      { title: "Tokens per day" }),
    h("p", { class: "muted small" }, `From the turns of your ${recent.length} most recent session(s).`));
  });
}
