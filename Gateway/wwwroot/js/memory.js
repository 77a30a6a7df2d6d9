// Memory browser: entities by type with attributes, relations (a small graph), summaries, search, audited edits
// with a reason, and the context viewer of a turn (GET …/turns/{turnId}/context: what the narrator saw).
import { $, h, showError, act } from "./dom.js";
import { api, sessionPath, all, enc } from "./api.js";
import { state, on } from "./state.js";

const ERR = "memory-error";
let entities = [];
let selected = null;   // the entity in the detail pane and the edit form, with the session it belongs to
let shownSession = null;

/** Forgets what the panel shows (another session opened, or signed out): nothing of it can be saved into another session. */
export function clear() {
  entities = [];
  selected = null;
  shownSession = null;
  $("memory-list").replaceChildren();
  $("memory-detail").replaceChildren();
  $("memory-graph").replaceChildren();
  $("memory-edit").hidden = true;
  for (const id of ["mem-name", "mem-content", "mem-attributes", "mem-reason", "memory-query"]) $(id).value = "";
  $("context-turn").replaceChildren();
  $("context-view").replaceChildren();
}

export async function render() {
  showError(null, ERR);
  if (state.sessionId !== shownSession) clear();
  $("memory-session").textContent = state.session ? `Session: ${state.session.name} (${state.session.worldId})` : "Open a session first.";
  if (!state.sessionId) return;
  const sessionId = state.sessionId;
  shownSession = sessionId;
  await act(null, ERR, async () => {
    const read = await all(sessionPath(sessionId, "/memory"), 1000);
    if (shownSession !== sessionId) return;
    entities = read;
    listEntities(filter(entities));
    await fillTurns(sessionId);
  });
}

const filter = (items) => items.filter((e) => !$("memory-type").value || e.type === $("memory-type").value);

function listEntities(items, scores) {
  const byType = new Map();
  for (const e of items) (byType.get(e.type) || byType.set(e.type, []).get(e.type)).push(e);
  const groups = [...byType.entries()].sort(([a], [b]) => a.localeCompare(b));
  $("memory-list").replaceChildren(...(groups.length ? groups.map(([type, list]) => h("section", { class: "mem-group" },
    h("h4", {}, `${type} (${list.length})`),
    h("ul", { class: "plain" }, ...list.map((e) => {
      const b = h("button", { type: "button", class: "link", dataset: { entity: e.entityId } }, e.name);
      b.addEventListener("click", () => showEntity(e.entityId));
      return h("li", {}, b, scores?.has(e.entityId) ? h("span", { class: "muted" }, ` score ${scores.get(e.entityId).toFixed(2)}`) : "");
    })))) : [h("p", { class: "muted" }, "Nothing remembered yet.")]));
}

async function search(event) {
  event.preventDefault();
  const query = $("memory-query").value.trim();
  const sessionId = shownSession;
  if (!sessionId) return;
  if (!query) { listEntities(filter(entities)); return; }
  await act($("memory-search"), ERR, async () => {
    const { items } = await api(sessionPath(sessionId, "/memory/search"), { method: "POST", body: { query, mode: "hybrid", limit: 20 } });
    if (shownSession !== sessionId) return;
    const scores = new Map(items.map((i) => [i.entity.entityId, i.score]));
    listEntities(filter(items.map((i) => i.entity)), scores);
  });
}

/** Relations: relationship entities naming this entity, and entities whose text names it. */
function relationsOf(entity) {
  const name = entity.name.toLowerCase();
  const mentions = (e) => e.entityId !== entity.entityId &&
    [e.name, e.content, ...Object.values(e.attributes || {})].some((v) => String(v || "").toLowerCase().includes(name));
  return entities.filter((e) => e.type !== "summary" && mentions(e)).slice(0, 12);
}

function graph(entity, related) {
  const size = 260, c = size / 2, r = 95;
  const svg = h("svg:svg", { viewBox: `0 0 ${size} ${size}`, width: size, height: size, role: "img", "aria-label": `${entity.name} and ${related.length} related entit${related.length === 1 ? "y" : "ies"}` });
  related.forEach((e, i) => {
    const a = (2 * Math.PI * i) / Math.max(related.length, 1) - Math.PI / 2;
    const x = c + r * Math.cos(a), y = c + r * Math.sin(a);
    svg.append(h("svg:line", { x1: c, y1: c, x2: x, y2: y, class: "edge" }),
      h("svg:circle", { cx: x, cy: y, r: 6, class: `node ${e.type}` }),
      h("svg:text", { x, y: y + 18, "text-anchor": "middle" }, e.name.slice(0, 18)));
  });
  svg.append(h("svg:circle", { cx: c, cy: c, r: 10, class: "node center" }), h("svg:text", { x: c, y: c - 16, "text-anchor": "middle", class: "center" }, entity.name.slice(0, 22)));
  return svg;
}

async function showEntity(entityId) {
  const sessionId = shownSession;
  if (!sessionId) return;
  await act(null, ERR, async () => {
    const e = await api(sessionPath(sessionId, `/memory/${enc(entityId)}`));
    if (shownSession !== sessionId) return;
    selected = { ...e, sessionId };
    const attrs = Object.entries(e.attributes || {});
    const related = relationsOf(e);
    $("memory-detail").replaceChildren(
      h("h4", { id: "entity-name" }, `${e.name} · ${e.type}`),
      h("p", {}, e.content || ""),
      attrs.length ? h("table", { class: "table" }, h("tbody", {}, ...attrs.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, String(v)))))) : "",
      h("p", { class: "muted" }, `turns ${e.firstSeq}–${e.lastSeq} · version ${e.version}${e.aliases?.length ? ` · also ${e.aliases.join(", ")}` : ""}`),
      related.length ? h("p", {}, "Related: ", ...related.map((r, i) => {
        const b = h("button", { type: "button", class: "link" }, r.name);
        b.addEventListener("click", () => showEntity(r.entityId));
        return [i ? ", " : "", b];
      })) : "");
    $("memory-graph").replaceChildren(related.length ? graph(e, related) : "");
    $("memory-edit").hidden = false;
    $("mem-name").value = e.name;
    $("mem-content").value = e.content || "";
    $("mem-attributes").value = attrs.map(([k, v]) => `${k}=${v}`).join("\n");
    $("mem-reason").value = "";
  });
}

async function saveEdit(event) {
  event.preventDefault();
  // The entity is saved into the session it was read from, and only while that session is the open one.
  const entity = selected;
  if (!entity || entity.sessionId !== state.sessionId) return;
  await act($("mem-save"), ERR, async () => {
    const attributes = Object.fromEntries($("mem-attributes").value.split("\n").map((l) => l.trim()).filter(Boolean)
      .map((l) => { const i = l.indexOf("="); return i < 0 ? [l, ""] : [l.slice(0, i).trim(), l.slice(i + 1).trim()]; }));
    await api(sessionPath(entity.sessionId, `/memory/${enc(entity.entityId)}`), {
      method: "PUT",
      body: { type: entity.type, name: $("mem-name").value.trim(), content: $("mem-content").value, attributes, reason: $("mem-reason").value.trim() },
    });
    const read = await all(sessionPath(entity.sessionId, "/memory"), 1000);
    if (shownSession !== entity.sessionId) return;
    entities = read;
    listEntities(filter(entities));
    await showEntity(entity.entityId);
  });
}

async function fillTurns(sessionId) {
  const turns = await all(sessionPath(sessionId, "/turns"));
  if (shownSession !== sessionId) return;
  const select = $("context-turn");
  const previous = select.value;
  select.replaceChildren(...turns.map((t) => new Option(`#${t.seq} ${(t.storyInput || t.input || "").slice(0, 50)}`, t.turnId)));
  if (previous && turns.some((t) => t.turnId === previous)) select.value = previous;
  else if (turns.length) select.value = turns[turns.length - 1].turnId;
}

async function showContext() {
  const turnId = $("context-turn").value;
  const sessionId = shownSession;
  if (!turnId || !sessionId) return;
  await act($("context-show"), ERR, async () => {
    const view = await api(sessionPath(sessionId, `/turns/${enc(turnId)}/context`));
    if (shownSession !== sessionId) return;
    const c = view.context || {};
    const t = c.tokens || {};
    const name = (id) => entities.find((e) => e.entityId === id)?.name || id;
    const row = (label, used, budget) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, String(used ?? 0)), h("td", {}, budget ? String(budget) : "–"));
    $("context-view").replaceChildren(
      h("p", {}, `Turn #${view.seq} (${view.status}) · ${c.worldId} v${c.canonVersion}${c.contextTruncated ? " · context truncated" : ""}${c.opening ? " · opening" : ""}`),
      h("table", { class: "table", id: "context-tokens" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Part"), h("th", { scope: "col" }, "Tokens"), h("th", { scope: "col" }, "Budget"))),
        h("tbody", {}, row("canon", t.canon), row("lore", t.lore, t.loreBudget), row("memory and summaries", t.context, t.contextBudget),
          row("recent turns", t.recentTurns, t.recentTurnsBudget), row("input", t.input), row("total", t.total, t.totalBudget))),
      h("h4", {}, "Lore entries that fired"),
      h("ul", { class: "plain" }, ...(c.lore || []).map((l) => h("li", {}, typeof l === "string" ? l : `${l.file || l.name || l.entry || ""} ${l.reason ? `(${l.reason})` : ""}`)),
        ...(c.loreOverBudget || []).map((f) => h("li", { class: "muted" }, `${f} (over budget)`))),
      h("h4", {}, "Memory it saw"),
      h("ul", { class: "plain" }, ...(c.memory || []).map((id) => h("li", {}, name(id)))),
      h("h4", {}, "Summaries"),
      h("ul", { class: "plain" }, ...(c.summaries || []).map((id) => h("li", {}, name(id)))),
      h("p", { class: "muted" }, `Recent turns: ${(c.recentTurns || []).map((s) => `#${s}`).join(", ") || "none"}${c.recentTurnsOmitted ? ` (${c.recentTurnsOmitted} older left out)` : ""}`),
      h("h4", {}, "Input"),
      h("p", { class: "narrative" }, c.input || ""));
  });
}

export function initMemory() {
  // The panel keeps nothing of a session once another one opens, even while it is not the tab on view.
  on("session", (session) => { if (session?.sessionId !== shownSession) clear(); });
  $("memory-search-form").addEventListener("submit", search);
  $("memory-type").addEventListener("change", () => listEntities(filter(entities)));
  $("memory-edit").addEventListener("submit", saveEdit);
  $("context-show").addEventListener("click", showContext);
}
