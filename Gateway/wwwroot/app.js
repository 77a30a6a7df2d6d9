// LOOM studio: the page at `/`, plain ES modules against the public REST API (docs/studio.md). This file wires
// the areas together: tabs, sign-in with an API key, the world picker and the first load.
import { $, showError, act } from "./js/dom.js";
import { api, auth, whenUnauthorized } from "./js/api.js";
import { state, on, emit } from "./js/state.js";
import { initPlay, openSession, closeSession } from "./js/play.js";
import * as tree from "./js/tree.js";
import * as memory from "./js/memory.js";
import * as usage from "./js/usage.js";
import { initWorld, loadWorldList } from "./js/world.js";
import { initSessions, loadSessions, clearSessions } from "./js/sessions.js";

const tabs = ["play", "tree", "world", "memory", "usage", "sessions"];
const renderers = { tree: tree.render, memory: memory.render, usage: usage.render, world: loadWorldList, sessions: loadSessions };
let current = "play";

function selectTab(name, focus = false) {
  current = name;
  for (const t of tabs) {
    const tab = $(`tab-${t}`);
    const on = t === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${t}`).hidden = !on;
  }
  if (focus) $(`tab-${name}`).focus();
  history.replaceState(null, "", name === "play" ? location.pathname : `#${name}`);
  renderers[name]?.()?.catch?.((err) => showError(err));
}

// Tabs follow the WAI-ARIA pattern: arrows move between them, Home/End jump.
$("tabs").addEventListener("keydown", (e) => {
  const i = tabs.indexOf(current);
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (next === undefined) return;
  e.preventDefault();
  selectTab(tabs[(next + tabs.length) % tabs.length], true);
});
tabs.forEach((t) => $(`tab-${t}`).addEventListener("click", () => selectTab(t)));

// ---- sign-in: only needed when the gateway has keys; the first 401 opens the form.

function showSignin(message) {
  $("signin").hidden = false;
  $("api-key").value = auth.key;
  $("signin-status").textContent = message || (auth.key ? "Signed in with a key." : "");
  if (message) $("api-key").focus();
}
whenUnauthorized(() => showSignin("This gateway needs an API key."));
$("show-signin").addEventListener("click", () => showSignin());
$("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  auth.set($("api-key").value.trim(), $("api-key-remember").checked);
  await act($("signin-save"), "signin-status", async () => {
    await boot();
    $("signin-status").textContent = "Signed in.";
  });
});
// Signing out leaves nothing of the key's owner on the page: no stream, story, session to resume, lists or worlds.
$("signout").addEventListener("click", () => {
  auth.set("");
  closeSession();
  clearSessions();
  memory.clear();
  state.worlds = [];
  for (const id of ["world", "import-world"]) $(id).replaceChildren();
  $("world-info").textContent = "";
  selectTab("play");
  $("api-key").value = "";
  $("signin-status").textContent = "Signed out.";
});

// ---- worlds and the new-story form

async function loadWorlds() {
  state.worlds = (await api("/api/worlds")).items;
  const select = $("world");
  const previous = select.value;
  select.replaceChildren(...state.worlds.map((w) => new Option(`${w.title} (v${w.latestVersion})`, w.worldId)));
  if (previous) select.value = previous;
  // The world an imported SillyTavern chat plays in (Sessions tab).
  const target = $("import-world");
  const chosen = target.value;
  target.replaceChildren(...state.worlds.map((w) => new Option(`${w.title} (${w.worldId})`, w.worldId)));
  if (chosen) target.value = chosen;
  describeWorld();
}

function describeWorld() {
  const world = state.worlds.find((w) => w.worldId === $("world").value);
  $("world-info").textContent = world ? `${world.worldId} · ${world.versions.length} version(s)` : "No worlds yet: publish one in the World editor.";
}

async function startSession() {
  await act($("start"), "error", async () => {
    const body = { worldId: $("world").value };
    const name = $("session-name").value.trim();
    if (name) body.name = name;
    const session = await api("/api/sessions", { method: "POST", body });
    $("session-name").value = "";
    selectTab("play");
    await openSession(session.sessionId);
    await loadSessions();
  });
}

$("world").addEventListener("change", describeWorld);
$("start").addEventListener("click", startSession);
initPlay();
initWorld();
initSessions();
memory.initMemory();

on("reopen", () => { if (current !== "play") selectTab("play"); });
on("tab", (name) => selectTab(name));
on("session", () => { loadSessions().catch(() => {}); });
on("sessions", () => loadSessions().catch(() => {}));
on("worlds", () => loadWorlds().catch(() => {}));
on("turns", () => { if (current === "tree") tree.render(); });

async function boot() {
  await loadWorlds();
  await loadSessions();
  if (state.sessionId) await openSession(state.sessionId);
  const hash = location.hash.slice(1);
  selectTab(tabs.includes(hash) ? hash : "play");
}

boot().catch((err) => showError(err));
