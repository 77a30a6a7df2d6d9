// LOOM player page: plain JavaScript against the public REST API (no build step).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { sessionId: localStorage.getItem("loom.session"), events: null, turns: new Map(), worlds: [] };

async function api(path, options = {}) {
  // Merge headers last: spreading options after them would drop content-type whenever a caller passes headers.
  const res = await fetch(path, { ...options, headers: { "content-type": "application/json", ...(options.headers || {}) } });
  if (res.status === 204) return null;
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const fieldErrors = body && body.errors ? Object.values(body.errors).flat().join(" ") : "";
    throw new Error(fieldErrors || (body && (body.detail || body.title)) || `HTTP ${res.status}`);
  }
  return body;
}

function showError(err) { $("error").textContent = err ? String(err.message || err) : ""; }

async function loadWorlds() {
  const { items } = await api("/api/worlds");
  state.worlds = items;
  const select = $("world");
  select.replaceChildren(...items.map((w) => new Option(`${w.title} (v${w.latestVersion})`, w.worldId)));
  select.onchange = describeWorld;
  describeWorld();
}

function describeWorld() {
  const world = state.worlds.find((w) => w.worldId === $("world").value);
  $("world-info").textContent = world ? `${world.worldId} · ${world.versions.length} version(s)` : "No worlds yet: publish one with PUT /api/worlds/{id}.";
}

async function loadSessions() {
  const { items } = await api("/api/sessions?limit=50");
  const list = $("sessions");
  list.replaceChildren(...items.map((s) => {
    const li = document.createElement("li");
    li.textContent = s.name;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${s.worldId} · ${s.turnCount} turn(s) · ${s.status}`;
    li.append(meta);
    if (s.sessionId === state.sessionId) li.classList.add("current");
    li.onclick = () => openSession(s.sessionId);
    return li;
  }));
}

async function startSession() {
  showError();
  try {
    const body = { worldId: $("world").value };
    const name = $("session-name").value.trim();
    if (name) body.name = name;
    const session = await api("/api/sessions", { method: "POST", body: JSON.stringify(body) });
    $("session-name").value = "";
    await openSession(session.sessionId);
    await loadSessions();
  } catch (err) { showError(err); }
}

async function openSession(sessionId) {
  showError();
  let session;
  try { session = await api(`/api/sessions/${encodeURIComponent(sessionId)}`); }
  catch (err) { localStorage.removeItem("loom.session"); state.sessionId = null; showError(err); return; }
  state.sessionId = sessionId;
  localStorage.setItem("loom.session", sessionId);
  state.turns.clear();
  $("story").replaceChildren();
  $("empty").hidden = true;
  $("session-header").hidden = false;
  $("turn-form").hidden = false;
  renderHeader(session);
  document.querySelectorAll("#sessions li").forEach((li) => li.classList.remove("current"));

  // Whole timeline, page by page, then live events.
  await loadTurns(sessionId);
  await loadRoom(sessionId);
  watch(sessionId);
  $("input").focus();
}

async function loadTurns(sessionId) {
  let after = null;
  do {
    const page = await api(`/api/sessions/${encodeURIComponent(sessionId)}/turns?limit=200${after ? `&after=${after}` : ""}`);
    if (state.sessionId !== sessionId) return;
    page.items.forEach(renderTurn);
    after = page.next;
  } while (after);
}

function renderHeader(session) {
  $("session-title").textContent = session.name;
  $("session-meta").textContent =
    `${session.worldId} v${session.canonVersion} · ${session.turnCount} turn(s) · narrator ${session.llm.provider}/${session.llm.model} · ${session.status}`;
}

function turnElement(turnId) {
  let entry = state.turns.get(turnId);
  if (!entry) {
    const li = document.createElement("li");
    const you = document.createElement("div"); you.className = "you";
    const chips = document.createElement("div"); chips.className = "chips";
    const narrative = document.createElement("div"); narrative.className = "narrative";
    const failure = document.createElement("div"); failure.className = "failed";
    li.append(you, chips, narrative, failure);
    $("story").append(li);
    entry = { li, you, chips, narrative, failure };
    state.turns.set(turnId, entry);
  }
  return entry;
}

// A turn only moves forward: the POST answer (queued) can arrive after the stream already said completed.
const statusRank = { queued: 0, running: 1, completed: 2, failed: 2, retconned: 3 };

function renderTurn(turn) {
  const e = turnElement(turn.turnId);
  const rank = statusRank[turn.status] ?? 0;
  if (e.rank !== undefined && rank < e.rank) return;
  e.rank = rank;
  e.you.textContent = turn.storyInput || turn.input;
  e.chips.replaceChildren(...(turn.interventions || []).map((i) => {
    const chip = document.createElement("span"); chip.className = "chip"; chip.textContent = `${i.type}: ${i.content}`; return chip;
  }));
  if (turn.narrative || turn.status !== "running") e.narrative.textContent = turn.narrative || "";
  e.narrative.classList.toggle("streaming", turn.status === "running" || turn.status === "queued");
  e.failure.textContent = turn.status === "failed" ? `This turn failed: ${turn.error?.message ?? "unknown error"}` : "";
  e.li.scrollIntoView({ block: "end" });
  updateStatus();
}

function updateStatus() {
  const pending = [...state.turns.values()].filter((e) => e.narrative.classList.contains("streaming")).length;
  $("status").textContent = pending ? `${pending} turn(s) in progress…` : "";
}

function watch(sessionId) {
  if (state.events) state.events.close();
  const source = new EventSource(`/api/sessions/${encodeURIComponent(sessionId)}/events`);
  state.events = source;
  const onTurn = (ev) => renderTurn(JSON.parse(ev.data));
  ["turn.queued", "turn.started", "turn.completed", "turn.failed"].forEach((t) => source.addEventListener(t, onTurn));
  source.addEventListener("turn.completed", () => refreshHeader(sessionId));
  // Shared sessions: members, presence, whose turn and the side chat arrive on the same stream.
  source.addEventListener("room.members", (ev) => renderRoom(JSON.parse(ev.data)));
  source.addEventListener("room.turn", (ev) => renderRoom(JSON.parse(ev.data)));
  source.addEventListener("chat.message", (ev) => renderChat(JSON.parse(ev.data)));
  source.addEventListener("turn.delta", (ev) => {
    const { turnId, text } = JSON.parse(ev.data);
    const e = turnElement(turnId);
    if ((e.rank ?? 0) >= statusRank.completed) return;
    e.narrative.textContent += text;
    e.narrative.classList.add("streaming");
    e.li.scrollIntoView({ block: "end" });
  });
  let lost = false;
  source.onerror = () => { lost = true; $("status").textContent = "Reconnecting to the story…"; };
  source.onopen = () => {
    updateStatus();
    // Events sent while the connection was down are not replayed: catch up from the timeline.
    if (lost) { lost = false; loadTurns(sessionId).then(() => refreshHeader(sessionId)).catch(showError); }
  };
}

async function refreshHeader(sessionId) {
  try { renderHeader(await api(`/api/sessions/${encodeURIComponent(sessionId)}`)); } catch { /* next event will retry */ }
}

async function sendTurn(event) {
  event.preventDefault();
  const input = $("input").value;
  if (!input.trim() || !state.sessionId) return;
  showError();
  $("send").disabled = true;
  try {
    const turn = await api(`/api/sessions/${encodeURIComponent(state.sessionId)}/turns`, {
      method: "POST",
      headers: { "Idempotency-Key": crypto.randomUUID() },
      body: JSON.stringify({ input }),
    });
    renderTurn(turn);
    $("input").value = "";
  } catch (err) { showError(err); }
  finally { $("send").disabled = false; $("input").focus(); }
}

// ---- playing together (docs/multiplayer.md)

async function loadRoom(sessionId) {
  $("chat-lines").replaceChildren();
  $("invite-code").textContent = "";
  try {
    const room = await api(`/api/sessions/${encodeURIComponent(sessionId)}/room`);
    if (state.sessionId !== sessionId) return;
    state.role = room.yourRole;
    renderRoom(room);
    if (room.members.length > 1 && room.yourRole !== "spectator") {
      const { items } = await api(`/api/sessions/${encodeURIComponent(sessionId)}/chat`);
      items.forEach(renderChat);
    }
  } catch { $("together").hidden = true; }
}

function renderRoom(room) {
  $("together").hidden = false;
  $("invite").hidden = state.role !== "owner";
  $("side-chat").hidden = room.members.length < 2 || state.role === "spectator";
  $("members").replaceChildren(...room.members.map((m) => {
    const li = document.createElement("li");
    li.textContent = `${m.displayName} (${m.role})`;
    li.dataset.member = m.memberId;
    li.classList.toggle("online", m.online);
    li.classList.toggle("turn", room.currentTurn === m.memberId);
    if (m.persona) li.title = m.persona;
    return li;
  }));
  const current = room.members.find((m) => m.memberId === room.currentTurn);
  $("whose-turn").textContent = room.mode === "round" && current ? `${current.displayName}'s turn`
    : room.mode === "host" ? "the owner accepts proposals" : "";
}

function renderChat(line) {
  const li = document.createElement("li");
  const who = document.createElement("span"); who.className = "who"; who.textContent = line.displayName;
  li.append(who, document.createTextNode(line.text));
  $("chat-lines").append(li);
  li.scrollIntoView({ block: "nearest" });
}

async function invite() {
  showError();
  try {
    const created = await api(`/api/sessions/${encodeURIComponent(state.sessionId)}/invites`, { method: "POST", body: JSON.stringify({ role: "player" }) });
    // A stream opened while the session was solo carries no room events: reconnect to get members, presence and chat.
    if ($("members").children.length < 2) { await loadRoom(state.sessionId); watch(state.sessionId); }
    $("invite-code").textContent = `Invite code: ${created.code} (valid until ${new Date(created.expiresAt).toLocaleString()})`;
    $("invite-code").dataset.code = created.code;
  } catch (err) { showError(err); }
}

async function join() {
  showError();
  try {
    const body = { displayName: $("join-name").value.trim() };
    const persona = $("join-persona").value.trim();
    if (persona) body.persona = persona;
    const room = await api(`/api/invites/${encodeURIComponent($("join-code").value.trim())}/join`, { method: "POST", body: JSON.stringify(body) });
    $("join-code").value = "";
    await openSession(room.sessionId);
  } catch (err) { showError(err); }
}

async function say(event) {
  event.preventDefault();
  const text = $("chat-input").value;
  if (!text.trim() || !state.sessionId) return;
  try {
    await api(`/api/sessions/${encodeURIComponent(state.sessionId)}/chat`, { method: "POST", body: JSON.stringify({ text }) });
    $("chat-input").value = "";
  } catch (err) { showError(err); }
}

$("invite").onclick = invite;
$("join").onclick = join;
$("chat-form").onsubmit = say;
$("start").onclick = startSession;
$("turn-form").onsubmit = sendTurn;
$("input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("turn-form").requestSubmit(); }
});

(async () => {
  try {
    await loadWorlds();
    await loadSessions();
    if (state.sessionId) await openSession(state.sessionId);
  } catch (err) { showError(err); }
})();
