// World editor: canon files and lore entries side by side, validated as you type (POST /api/canon/validate),
// a diff against the published version, Publish (PUT /api/worlds/{id}) and the version history (GET …/diff).
import { $, h, showError, act, download } from "./dom.js";
import { api, enc } from "./api.js";
import { state, emit } from "./state.js";
import { lineDiff, hunks } from "./diff.js";

const ERR = "world-error";
const editor = { worldId: null, files: {}, published: {}, version: 0, isNew: false };
let timer = null;
let validation = 0;
let opening = 0; // a world opened later (or a new one) wins over a slower earlier load

const isLore = (name) => name.startsWith("lore/");
const isCanon = (name) => !name.includes("/");

export async function loadWorldList() {
  const select = $("edit-world");
  const current = select.value || state.worlds[0]?.worldId;
  select.replaceChildren(...state.worlds.map((w) => new Option(`${w.title} (${w.worldId}, v${w.latestVersion})`, w.worldId)));
  if (current && state.worlds.some((w) => w.worldId === current)) select.value = current;
  // Coming back to the tab keeps the draft being edited; the first visit opens a world.
  if (editor.worldId) { if (state.worlds.some((w) => w.worldId === editor.worldId)) select.value = editor.worldId; return; }
  if (select.value) await openWorld(select.value);
}

async function openWorld(worldId) {
  const mine = ++opening;
  await act(null, ERR, async () => {
    const [world, canon] = await Promise.all([api(`/api/worlds/${enc(worldId)}`), api(`/api/worlds/${enc(worldId)}/canon`)]);
    if (mine !== opening) return;
    Object.assign(editor, { worldId, files: { ...(canon.files || {}) }, published: { ...(canon.files || {}) }, version: canon.version, isNew: false });
    $("world-title").value = canon.title || world.title || "";
    fillFileLists();
    renderSections(canon.sections || []);
    renderVersions(world);
    $("world-diff").hidden = true;
    $("version-diff").hidden = true;
    $("world-status").textContent = `Published v${canon.version}.`;
    $("validation").replaceChildren();
  });
}

function fillFileLists(selectCanon, selectLore) {
  const names = Object.keys(editor.files).sort();
  const canon = names.filter(isCanon), lore = names.filter(isLore);
  $("canon-file").replaceChildren(...canon.map((n) => new Option(n, n)));
  $("lore-file").replaceChildren(...lore.map((n) => new Option(n.slice(5), n)));
  if (selectCanon) $("canon-file").value = selectCanon;
  if (selectLore) $("lore-file").value = selectLore;
  $("canon-text").value = editor.files[$("canon-file").value] ?? "";
  $("lore-text").value = editor.files[$("lore-file").value] ?? "";
  $("canon-text").disabled = !canon.length;
  $("lore-text").disabled = !lore.length;
}

function renderSections(sections) {
  $("canon-sections").replaceChildren(...sections.map((s) => h("li", {}, `${s.name} · ${s.type} · ${s.file}`)));
}

function renderVersions(world) {
  $("world-versions").replaceChildren(...[...(world.versions || [])].reverse().map((v) => {
    const show = h("button", { type: "button", class: "secondary", "aria-label": `Changes in version ${v.version}`, disabled: v.version <= 1 }, "Changes");
    show.addEventListener("click", () => act(show, ERR, async () => {
      const diff = await api(`/api/worlds/${enc(world.worldId)}/diff?from=${v.version - 1}&to=${v.version}`);
      const text = diff.files.filter((f) => f.status !== "unchanged").map((f) => `=== ${f.file} (${f.status})\n${f.diff || ""}`).join("\n");
      $("version-diff").textContent = `v${diff.from} → v${diff.to}\n${text || "(no file changed)"}`;
      $("version-diff").hidden = false;
    }));
    return h("li", {}, `v${v.version} · ${new Date(v.createdAt).toLocaleString()} · ${String(v.hash || "").slice(0, 12)} `, show);
  }));
}

/** Live validation: the draft is checked a moment after the last keystroke; only the newest answer is shown. */
function scheduleValidation() {
  clearTimeout(timer);
  timer = setTimeout(validate, 400);
}

async function validate() {
  clearTimeout(timer);
  const mine = ++validation;
  try {
    const result = await api("/api/canon/validate", { method: "POST", body: { title: $("world-title").value || undefined, files: editor.files } });
    if (mine !== validation) return result;
    const issues = [...result.errors.map((i) => ({ ...i, kind: "error" })), ...result.warnings.map((i) => ({ ...i, kind: "warning" }))];
    $("validation").replaceChildren(
      h("p", { class: result.valid ? "ok" : "bad" }, result.valid ? `Valid: ${result.sections.length} section(s).` : `Invalid: ${result.errors.length} error(s).`),
      h("ul", { class: "plain" }, ...issues.map((i) => h("li", { class: i.kind }, `${i.kind} ${i.code}: ${i.message}${i.file ? ` (${i.file}${i.line ? `:${i.line}` : ""})` : ""}`))));
    renderSections(result.sections || []);
    return result;
  } catch (err) { if (mine === validation) showError(err, ERR); return null; }
}

function showDiff() {
  const names = [...new Set([...Object.keys(editor.published), ...Object.keys(editor.files)])].sort();
  const parts = [];
  for (const name of names) {
    const before = editor.published[name], after = editor.files[name];
    if (before === after) continue;
    if (before === undefined) { parts.push(`=== ${name} (added)`, ...after.split("\n").map((l) => `+${l}`)); continue; }
    if (after === undefined) { parts.push(`=== ${name} (removed)`); continue; }
    parts.push(`=== ${name} (modified)`, ...hunks(lineDiff(before, after)).map((l) => `${l.op}${l.text}`));
  }
  $("world-diff").textContent = parts.length ? parts.join("\n") : `No changes against v${editor.version}.`;
  $("world-diff").hidden = false;
}

async function publish() {
  await act($("publish"), ERR, async () => {
    const worldId = editor.worldId;
    const version = await api(`/api/worlds/${enc(worldId)}`, { method: "PUT", body: { title: $("world-title").value || undefined, files: editor.files } });
    state.worlds = (await api("/api/worlds")).items;
    emit("worlds");
    await loadWorldList();
    await openWorld(worldId);
    $("world-status").textContent = `Published v${version.version}.`;
  });
}

function addFile(kind) {
  const name = prompt(kind === "lore" ? "Name of the lore entry (e.g. mira)" : "Name of the canon file (e.g. tone.md)");
  if (!name) return;
  const clean = name.trim().replace(/^lore\//, "").replace(/[^A-Za-z0-9._-]/g, "-");
  const file = kind === "lore" ? `lore/${clean.endsWith(".md") ? clean : clean + ".md"}` : (clean.endsWith(".md") ? clean : clean + ".md");
  if (!(file in editor.files)) editor.files[file] = kind === "lore" ? "---\nkeys: [name]\n---\nWhat the narrator should know.\n" : "# Custom\n";
  fillFileLists(kind === "lore" ? undefined : file, kind === "lore" ? file : undefined);
  (kind === "lore" ? $("lore-text") : $("canon-text")).focus();
  scheduleValidation();
}

function newWorld() {
  const id = $("new-world-id").value.trim();
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) { showError(new Error("A world id is lower-case letters, digits and '-' (up to 64)."), ERR); return; }
  opening++;
  Object.assign(editor, {
    worldId: id, version: 0, isNew: true, published: {},
    files: { "world.md": "# World\nWhere and when the story happens.\n\n# Tone\nHow it should feel.\n" },
  });
  $("world-title").value = id;
  $("world-versions").replaceChildren(h("li", { class: "muted" }, "Not published yet."));
  $("world-status").textContent = `New world ${id}: publish to create it.`;
  fillFileLists();
  scheduleValidation();
}

/** A SillyTavern card (PNG, JSON, CHARX) or lorebook becomes a new world, or a new version of the one being edited. */
async function importCard() {
  const input = $("world-import-file");
  const file = input.files[0];
  if (!file) return;
  await act(input, ERR, async () => {
    const into = $("world-import-into").checked && editor.worldId && !editor.isNew ? `?worldId=${enc(editor.worldId)}` : "";
    const type = file.type || (file.name.endsWith(".png") ? "image/png" : file.name.endsWith(".charx") ? "application/zip" : "application/json");
    const result = await api(`/api/worlds/import${into}`, { method: "POST", body: await file.arrayBuffer(), headers: { "content-type": type } });
    input.value = "";
    state.worlds = (await api("/api/worlds")).items;
    emit("worlds");
    await loadWorldList();
    $("edit-world").value = result.worldId;
    await openWorld(result.worldId);
    $("world-status").textContent = `Imported ${result.kind} "${result.title}" as ${result.worldId} v${result.version}`
      + ` (${result.loreEntries} lore entries, ${result.greetings} greetings).`;
  });
}

/** The published world as a card or lorebook file. */
async function exportWorld() {
  if (!editor.worldId || editor.isNew) return;
  const format = $("world-export-format").value;
  await act($("world-export"), ERR, async () => {
    const res = await api(`/api/worlds/${enc(editor.worldId)}/export?format=${format}`, { raw: true });
    const ext = format === "png" ? "png" : "json";
    download(`${editor.worldId}${format === "lorebook" ? ".lorebook" : ""}.${ext}`, await res.blob(), res.headers.get("content-type") || "application/octet-stream");
  });
}

export function initWorld() {
  $("edit-world").addEventListener("change", () => openWorld($("edit-world").value));
  $("canon-file").addEventListener("change", () => { $("canon-text").value = editor.files[$("canon-file").value] ?? ""; });
  $("lore-file").addEventListener("change", () => { $("lore-text").value = editor.files[$("lore-file").value] ?? ""; });
  $("canon-text").addEventListener("input", () => { editor.files[$("canon-file").value] = $("canon-text").value; scheduleValidation(); });
  $("lore-text").addEventListener("input", () => { editor.files[$("lore-file").value] = $("lore-text").value; scheduleValidation(); });
  $("world-title").addEventListener("input", scheduleValidation);
  $("validate").addEventListener("click", () => act($("validate"), ERR, validate));
  $("show-diff").addEventListener("click", showDiff);
  $("publish").addEventListener("click", publish);
  $("canon-add").addEventListener("click", () => addFile("canon"));
  $("lore-add").addEventListener("click", () => addFile("lore"));
  $("new-world").addEventListener("click", newWorld);
  $("world-import-file").addEventListener("change", importCard);
  $("world-export").addEventListener("click", exportWorld);
}
