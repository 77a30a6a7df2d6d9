// Sessions: the caller's sessions with search and a status filter, rename, archive, export (JSON, Markdown or a
// SillyTavern chat) and import of a JSON export or a SillyTavern chat; the sidebar's short list too.
import { $, h, showError, act, money, download } from "./dom.js";
import { api, all, sessionPath, enc } from "./api.js";
import { state, emit } from "./state.js";

const ERR = "sessions-error";
let sessions = [];
// The export format picked per session: the table is redrawn whenever sessions change, and a redraw must not
// silently put a row back to JSON between picking a format and pressing Export.
const exportFormats = new Map();

export async function loadSessions() {
  const status = $("session-status").value;
  sessions = await all(`/api/sessions${status ? `?status=${status}` : ""}`, 500);
  renderSidebar();
  renderTable();
}

/** Signed out: the lists forget the previous key's sessions. */
export function clearSessions() {
  sessions = [];
  renderSidebar();
  renderTable();
}

function renderSidebar() {
  $("sessions").replaceChildren(...sessions.filter((s) => s.status !== "archived").slice(0, 50).map((s) => {
    const b = h("button", { type: "button", class: "session-link" }, s.name, h("span", { class: "meta" }, `${s.worldId} · ${s.turnCount} turn(s) · ${s.status}`));
    b.addEventListener("click", () => emit("reopen", s.sessionId));
    const li = h("li", {}, b);
    if (s.sessionId === state.sessionId) li.classList.add("current");
    return li;
  }));
}

function renderTable() {
  const q = $("session-search").value.trim().toLowerCase();
  const rows = sessions.filter((s) => !q || s.name.toLowerCase().includes(q) || s.worldId.toLowerCase().includes(q));
  $("session-table").tBodies[0].replaceChildren(...rows.map((s) => {
    const open = h("button", { type: "button", class: "secondary", "aria-label": `Open ${s.name}` }, "Open");
    const rename = h("button", { type: "button", class: "secondary", "aria-label": `Rename ${s.name}` }, "Rename");
    const archive = h("button", { type: "button", class: "secondary", "aria-label": `Archive ${s.name}`, disabled: s.status === "archived" }, "Archive");
    const format = h("select", { "aria-label": `Export format for ${s.name}` }, new Option("JSON", "json"), new Option("Markdown", "markdown"), new Option("SillyTavern chat", "st-jsonl"));
    format.value = exportFormats.get(s.sessionId) ?? "json";
    format.addEventListener("change", () => exportFormats.set(s.sessionId, format.value));
    const exp = h("button", { type: "button", class: "secondary" }, "Export");
    open.addEventListener("click", () => { emit("reopen", s.sessionId); emit("tab", "play"); });
    rename.addEventListener("click", () => {
      const cell = rename.closest("tr").cells[0];
      const input = h("input", { value: s.name, "aria-label": `New name for ${s.name}`, maxlength: 200 });
      const save = h("button", { type: "button" }, "Save name");
      const commit = () => act(save, ERR, async () => { await api(sessionPath(s.sessionId), { method: "PATCH", body: { name: input.value.trim() } }); await refresh(); });
      save.addEventListener("click", commit);
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") commit(); if (e.key === "Escape") renderTable(); });
      cell.replaceChildren(input, save);
      input.focus();
    });
    archive.addEventListener("click", () => act(archive, ERR, async () => {
      if (!confirm(`Archive "${s.name}"? It stays readable and exportable.`)) return;
      await api(sessionPath(s.sessionId), { method: "DELETE" });
      await refresh();
    }));
    exp.addEventListener("click", () => act(exp, ERR, async () => {
      const res = await api(`${sessionPath(s.sessionId, "/export")}?format=${format.value}`, { raw: true });
      const ext = { markdown: "md", "st-jsonl": "jsonl" }[format.value] ?? "json";
      download(`${s.name.replace(/[^\w.-]+/g, "_") || s.sessionId}.${ext}`, await res.text(), res.headers.get("content-type") || "application/octet-stream");
    }));
    return h("tr", { dataset: { session: s.sessionId } },
      h("td", {}, s.name), h("td", {}, s.worldId), h("td", {}, String(s.turnCount)), h("td", {}, s.status),
      h("td", {}, money(s.usage?.costUsd)), h("td", { class: "actions" }, open, rename, archive, format, exp));
  }));
}

async function refresh() {
  await loadSessions();
}

async function importFile() {
  const file = $("import-file").files[0];
  if (!file) return;
  await act($("import-file"), ERR, async () => {
    // A SillyTavern chat has no world of its own: it plays in the one chosen beside the file.
    const chat = file.name.toLowerCase().endsWith(".jsonl");
    const path = chat ? `/api/sessions/import?format=st-jsonl&worldId=${enc($("import-world").value)}` : "/api/sessions/import";
    const created = await api(path, { method: "POST", body: await file.text(), headers: chat ? { "content-type": "application/jsonl" } : {} });
    $("import-file").value = "";
    await loadSessions();
    emit("reopen", created.sessionId);
  });
}

export function initSessions() {
  $("session-search").addEventListener("input", renderTable);
  $("session-status").addEventListener("change", () => loadSessions().catch((e) => showError(e, ERR)));
  $("import-file").addEventListener("change", importFile);
}
