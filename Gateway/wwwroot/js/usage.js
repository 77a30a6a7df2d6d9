// Usage: budgets left and tokens/cost per day (GET /api/usage), cost per session (the session list).
import { $, h, act, money, tokens } from "./dom.js";
import { api, all } from "./api.js";
import { barChart, gauge } from "./charts.js";

const ERR = "usage-error";

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

    // Per day from the owner's own ledger (GET /api/usage `days`: the last month, ending with today).
    const days = (usage.days || []).slice(-14);
    $("chart-days").replaceChildren(barChart(days.map((d) => ({
      label: d.period, value: tokens(d.usage), text: `${count(tokens(d.usage))} tok · ${money(d.usage?.costUsd)} · ${count(d.turns)} turn(s)`,
    })), { title: "Tokens per day" }));
  });
}
