// Play: streamed narration with Stop, intervention chips, OOC replies apart, status and cost per turn,
// alternatives (regenerate, continue, ‹ n/m ›) and the room panel of shared sessions (docs/multiplayer.md).
import { $, h, showError, act, money, tokens } from "./dom.js";
import { api, sessionPath, enc, ApiError } from "./api.js";
import { follow } from "./sse.js";
import { state, emit, on, alternativesOf } from "./state.js";

const turns = new Map();   // turnId -> { li, you, chips, narrative, ooc, meta, failure, rank, turn }
let stream = null;
let order = [];            // turnIds in timeline order

// A turn only moves forward: the POST answer (queued) can arrive after the stream already said completed.
const statusRank = { queued: 0, running: 1, completed: 2, failed: 2, retconned: 3 };

export async function openSession(sessionId) {
  showError();
  let session;
  try { session = await api(sessionPath(sessionId)); }
  catch (err) { localStorage.removeItem("loom.session"); state.sessionId = null; showError(err); return; }
  state.sessionId = sessionId;
  state.session = session;
  localStorage.setItem("loom.session", sessionId);
  turns.clear();
  order = [];
  $("story").replaceChildren();
  $("empty").hidden = true;
  $("session-header").hidden = false;
  $("turn-form").hidden = false;
  $("opening").hidden = !session.opening;
  $("opening").textContent = session.opening || "";
  renderHeader(session);
  await loadTurns(sessionId);
  await loadRoom(sessionId);
  watch(sessionId);
  emit("session", session);
  // Whoever already started typing (a chip's form, the action itself) keeps the focus.
  if (!$("turn-form").contains(document.activeElement)) $("input").focus();
}

async function loadTurns(sessionId) {
  let after = null;
  do {
    const page = await api(`${sessionPath(sessionId, "/turns")}?limit=200${after ? `&after=${enc(after)}` : ""}`);
    if (state.sessionId !== sessionId) return;
    page.items.forEach(renderTurn);
    after = page.next;
  } while (after);
  updateAlternatives();
}

function renderHeader(session) {
  state.session = session;
  $("session-title").textContent = session.name;
  const usage = session.usage || {};
  $("session-meta").textContent =
    `${session.worldId} v${session.canonVersion} · ${session.turnCount} turn(s) · narrator ${session.llm.provider}/${session.llm.model} · ${session.status}` +
    ` · ${tokens(usage)} tokens · ${money(usage.costUsd)}`;
}

function turnElement(turnId) {
  let entry = turns.get(turnId);
  if (!entry) {
    const you = h("div", { class: "you" });
    const chips = h("div", { class: "chips" });
    const narrative = h("div", { class: "narrative" });
    const ooc = h("aside", { class: "ooc-reply", hidden: true, "aria-label": "Out-of-character reply" });
    const meta = h("div", { class: "turn-meta muted" });
    const failure = h("div", { class: "failed" });
    const li = h("li", { dataset: { turn: turnId } }, you, chips, narrative, ooc, meta, failure);
    $("story").append(li);
    entry = { li, you, chips, narrative, ooc, meta, failure };
    turns.set(turnId, entry);
    order.push(turnId);
  }
  return entry;
}

function renderTurn(turn) {
  const e = turnElement(turn.turnId);
  const rank = statusRank[turn.status] ?? 0;
  if (e.rank !== undefined && rank < e.rank) return;
  e.rank = rank;
  e.turn = turn;
  if (turn.status === "retconned") { e.li.remove(); turns.delete(turn.turnId); order = order.filter((id) => id !== turn.turnId); updateAlternatives(); return; }
  // In a shared session storyInput already names the speaker ("Bran: …").
  e.you.textContent = turn.storyInput || turn.input;
  e.chips.replaceChildren(...(turn.interventions || []).map((i) =>
    h("span", { class: `chip ${i.status || ""}`, title: i.detail || "" }, `${i.type}: ${i.content}`)));
  if (turn.narrative || turn.status !== "running") e.narrative.textContent = turn.narrative || "";
  const pending = turn.status === "running" || turn.status === "queued";
  e.narrative.classList.toggle("streaming", pending);
  e.ooc.hidden = !turn.oocReply;
  e.ooc.textContent = turn.oocReply ? `OOC: ${turn.oocReply}` : "";
  const usage = turn.usage || {};
  const { count, chosen } = alternativesOf(turn);
  e.meta.textContent = `#${turn.seq} · ${turn.status}` + (turn.status === "completed"
    ? ` · ${tokens(usage)} tokens · ${money(usage.costUsd)}${turn.latencyMs ? ` · ${(turn.latencyMs / 1000).toFixed(1)} s` : ""}` : "") +
    (count > 1 ? ` · alternative ${chosen + 1}/${count}` : "");
  e.failure.textContent = turn.status === "failed" ? `This turn failed: ${turn.error?.message ?? "unknown error"}` : "";
  e.li.scrollIntoView({ block: "end" });
  updateStatus();
  updateAlternatives();
}

function pendingCount() {
  return [...turns.values()].filter((e) => e.narrative.classList.contains("streaming")).length;
}

function updateStatus() {
  const pending = pendingCount();
  $("status").textContent = pending ? `${pending} turn(s) in progress…` : "";
  $("stop").hidden = !pending;
}

/** The latest turn carries the alternatives controls; they act on it only when it is committed. */
function latestTurn() {
  for (let i = order.length - 1; i >= 0; i--) {
    const e = turns.get(order[i]);
    if (e && e.turn) return e.turn;
  }
  return null;
}

function updateAlternatives() {
  const turn = latestTurn();
  $("alternatives").hidden = !turn;
  if (!turn) return;
  const { count, chosen } = alternativesOf(turn);
  const done = turn.status === "completed";
  $("alt-count").textContent = `${chosen + 1}/${count}`;
  $("alt-prev").disabled = !done || chosen <= 0;
  $("alt-next").disabled = !done || chosen >= count - 1;
  $("regenerate").disabled = !done;
  $("continue").disabled = !done;
  $("edit-resend").disabled = !done && !resending;
}

function onEvent(type, data) {
  if (["turn.queued", "turn.started", "turn.completed", "turn.failed", "turn.regenerated", "turn.continued", "turn.chosen"].includes(type)) {
    if (data && data.turnId) renderTurn(data);
    if (type !== "turn.queued" && type !== "turn.started") { refreshHeader(); emit("turns"); emit("sessions"); }
  } else if (type === "turn.delta") {
    const e = turnElement(data.turnId);
    if ((e.rank ?? 0) >= statusRank.completed && !e.regenerating) return;
    if (e.regenerating) { e.narrative.textContent = ""; e.regenerating = false; }
    e.narrative.textContent += data.text;
    e.narrative.classList.add("streaming");
    e.li.scrollIntoView({ block: "end" });
    updateStatus();
  } else if (type === "session.rolledback" || type === "memory.updated") {
    if (type === "session.rolledback") reload();
    emit("turns");
  } else if (type === "room.members" || type === "room.turn") renderRoom(data);
  else if (type === "chat.message") renderChat(data);
}

function watch(sessionId) {
  stream?.stop();
  stream = follow(sessionPath(sessionId, "/events"), {
    event: onEvent,
    open: () => {
      updateStatus();
      // Re-read the turns whenever the stream (re)opens: a turn sent before the first connection was up (a fast
      // narrator, a slow key check) may have finished unseen, and a resumed stream's server may no longer hold
      // the events it missed. Rendering never moves a turn back to an earlier status.
      loadTurns(sessionId).then(refreshHeader).catch(showError);
    },
    lost: (final) => { $("status").textContent = final ? "The story's live updates are not available." : "Reconnecting to the story…"; },
  });
  updateStatus();
}

/**
 * Stop: the narrator stops on the server. The running turn and any queued after it end failed as "cancelled"
 * (nothing of them is kept); the stream goes on and shows them so. Newest first, so no queued turn starts meanwhile.
 */
async function stopTurns() {
  const sessionId = state.sessionId;
  if (!sessionId) return;
  const open = [...turns.values()].map((e) => e.turn).filter((t) => t.status === "running" || t.status === "queued").reverse();
  $("stop").disabled = true;
  $("status").textContent = "Stopping…";
  try {
    for (const t of open) {
      // 409: it finished meanwhile, nothing to stop.
      await api(sessionPath(sessionId, `/turns/${enc(t.turnId)}/cancel`), { method: "POST" })
        .catch((e) => { if (!(e instanceof ApiError && e.status === 409)) throw e; });
    }
  } catch (e) {
    showError(e);
  } finally {
    $("stop").disabled = false;
    updateStatus();
  }
}

async function reload() {
  if (!state.sessionId) return;
  const sessionId = state.sessionId;
  const items = await api(`${sessionPath(sessionId, "/turns")}?limit=200`).then((p) => p.items).catch(() => null);
  if (!items || state.sessionId !== sessionId) return;
  const live = new Set(items.map((t) => t.turnId));
  for (const id of [...order]) if (!live.has(id)) renderTurn({ ...turns.get(id).turn, status: "retconned" });
  items.forEach(renderTurn);
  refreshHeader();
}

async function refreshHeader() {
  if (!state.sessionId) return;
  try { renderHeader(await api(sessionPath(state.sessionId))); } catch { /* the next event will retry */ }
}

async function sendTurn(event) {
  event.preventDefault();
  const input = $("input").value;
  if (!input.trim() || !state.sessionId) return;
  if (resending) return resend(input);
  // The box is cleared at once and Send stays usable: the next action can be typed and sent while this one is being
  // accepted (a refused one comes back into an empty box).
  $("input").value = "";
  await act(null, "error", async () => {
    if (!stream) watch(state.sessionId);
    try {
      const turn = await api(sessionPath(state.sessionId, "/turns"), {
        method: "POST", headers: { "Idempotency-Key": crypto.randomUUID() }, body: { input },
      });
      renderTurn(turn);
    } catch (err) {
      if (!$("input").value) $("input").value = input;
      throw err;
    }
  });
  $("input").focus();
}

// ---- edit and resend: the latest input goes back in the box; Send narrates the edited input as a new alternative of
// the same turn (POST …/resend); Escape or "Cancel edit" returns to normal sending.
let resending = null;

function startResend() {
  const turn = latestTurn();
  if (!turn) return;
  resending = turn.turnId;
  $("input").value = turn.input || "";
  $("send").textContent = "Resend";
  $("edit-resend").textContent = "Cancel edit";
  $("input").focus();
}

function stopResend() {
  resending = null;
  $("send").textContent = "Send";
  $("edit-resend").textContent = "Edit and resend";
}

async function resend(input) {
  const turnId = resending;
  const e = turns.get(turnId);
  await act($("send"), "error", async () => {
    if (!stream) watch(state.sessionId);
    if (e) { e.rank = statusRank.running; e.narrative.classList.add("streaming"); }
    const answer = await api(sessionPath(state.sessionId, `/turns/${enc(turnId)}/resend`), {
      method: "POST", headers: { "Idempotency-Key": crypto.randomUUID() }, body: { input },
    });
    renderReworkAnswer(e, answer);
    $("input").value = "";
    stopResend();
  });
  updateAlternatives();
  $("input").focus();
}

/** Regenerate, Continue and choosing an alternative: timeline operations on the latest turn (docs/api.md, wave 3). */
async function alternative(button, action) {
  const turn = latestTurn();
  if (!turn) return;
  const e = turns.get(turn.turnId);
  await act(button, "error", async () => {
    if (!stream) watch(state.sessionId);
    const path = sessionPath(state.sessionId, `/turns/${enc(turn.turnId)}`);
    const headers = { "Idempotency-Key": crypto.randomUUID() };
    let answer;
    if (action === "regenerate" || action === "continue") {
      e.regenerating = action === "regenerate";
      e.rank = statusRank.running;
      e.narrative.classList.add("streaming");
      answer = await api(`${path}/${action}`, { method: "POST", headers });
    } else {
      answer = await api(`${path}/choice`, { method: "PUT", headers, body: { alternative: action + 1 } }); // 1-based on the wire
    }
    if (action === "regenerate" || action === "continue") renderReworkAnswer(e, answer);
    else if (answer && answer.turnId) renderTurn(answer); // a choice answers with the turn as it now is
  }, (err) => {
    // An older gateway has no alternatives routes: say so, with the server's own detail.
    e.regenerating = false;
    e.rank = statusRank.completed;
    return err instanceof ApiError && err.status === 404 && err.code === "not_found" && !err.problem?.detail?.includes(turn.turnId)
      ? new Error(`${button.getAttribute("aria-label") || button.textContent.trim()} is not available on this server: ${err.message}`)
      : err;
  }).finally(() => { if (e) { e.regenerating = false; if (e.turn?.status === "completed" && !pendingStream(e)) e.narrative.classList.remove("streaming"); updateAlternatives(); } });
  emit("turns");
}

/**
 * A rework's POST answers with the turn queued again. The stream can report the rework finished before that answer
 * arrives (a fast narrator, a busy server): then the answer is stale and must not put the turn back to queued.
 */
function renderReworkAnswer(e, answer) {
  if (!answer || !answer.turnId) return;
  if (e && (e.rank ?? 0) >= statusRank.completed) return;
  if (e) e.rank = undefined; // the turn goes back to queued once, from the completed it was
  renderTurn(answer);
}

const pendingStream = (e) => e.turn && (e.turn.status === "running" || e.turn.status === "queued");

// ---- intervention chips: each opens a short form that writes the inline marker into "Your action"

const chipForms = {
  ooc: { fields: [["Note to the narrator", "text"]], marker: ([t]) => `(OOC: ${t})` },
  edit: { fields: [["What to change (an entity type or name)", "target"], ["The change", "change"]], marker: ([a, b]) => `[EDIT: ${a}: ${b}]` },
  retcon: { fields: [["What was never so", "change"], ["Why (justification)", "why"]], marker: ([a, b]) => (b ? `[RETCON: ${a} | ${b}]` : `[RETCON: ${a}]`) },
  tone: { fields: [["Tone from now on", "tone"]], marker: ([t]) => `[TONE: ${t}]` },
  intent: { fields: [["What you mean to achieve", "intent"]], marker: ([t]) => `[INTENT: ${t}]` },
};

function openChip(button) {
  const kind = button.dataset.chip;
  const form = $("chip-form");
  const open = button.getAttribute("aria-expanded") === "true";
  document.querySelectorAll(".chip-button").forEach((b) => b.setAttribute("aria-expanded", "false"));
  if (open) { form.hidden = true; return; }
  button.setAttribute("aria-expanded", "true");
  const spec = chipForms[kind];
  const inputs = spec.fields.map(([label, name]) => h("input", { id: `chip-${kind}-${name}`, "aria-label": label, placeholder: label }));
  const add = h("button", { type: "button", id: "chip-add" }, `Add ${button.textContent}`);
  const apply = () => {
    const values = inputs.map((i) => i.value.trim());
    if (!values[0]) { inputs[0].focus(); return; }
    const text = $("input").value;
    $("input").value = (text && !text.endsWith(" ") ? text + " " : text) + spec.marker(values);
    form.hidden = true;
    button.setAttribute("aria-expanded", "false");
    $("input").focus();
  };
  add.addEventListener("click", apply);
  inputs.forEach((i) => i.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); apply(); } if (ev.key === "Escape") { form.hidden = true; button.focus(); } }));
  form.replaceChildren(...inputs.flatMap((i) => [h("label", { for: i.id }, i.getAttribute("aria-label")), i]), add);
  form.hidden = false;
  inputs[0].focus();
}

// ---- playing together (docs/multiplayer.md)

async function loadRoom(sessionId) {
  $("chat-lines").replaceChildren();
  $("invite-code").textContent = "";
  try {
    const room = await api(sessionPath(sessionId, "/room"));
    if (state.sessionId !== sessionId) return;
    state.role = room.yourRole;
    renderRoom(room);
    if (room.members.length > 1 && room.yourRole !== "spectator") {
      const { items } = await api(sessionPath(sessionId, "/chat"));
      items.forEach(renderChat);
    }
  } catch { $("together").hidden = true; }
}

function renderRoom(room) {
  $("together").hidden = false;
  $("invite").hidden = state.role !== "owner";
  $("side-chat").hidden = room.members.length < 2 || state.role === "spectator";
  $("members").replaceChildren(...room.members.map((m) => {
    const li = h("li", { dataset: { member: m.memberId }, title: m.persona || undefined }, `${m.displayName} (${m.role})`);
    li.classList.toggle("online", m.online);
    li.classList.toggle("turn", room.currentTurn === m.memberId);
    return li;
  }));
  const current = room.members.find((m) => m.memberId === room.currentTurn);
  $("whose-turn").textContent = room.mode === "round" && current ? `${current.displayName}'s turn`
    : room.mode === "host" ? "the owner accepts proposals" : "";
}

function renderChat(line) {
  const li = h("li", {}, h("span", { class: "who" }, line.displayName), line.text);
  $("chat-lines").append(li);
  li.scrollIntoView({ block: "nearest" });
}

async function invite() {
  await act($("invite"), "error", async () => {
    const created = await api(sessionPath(state.sessionId, "/invites"), { method: "POST", body: { role: "player" } });
    // A stream opened while the session was solo carries no room events: reconnect to get members, presence and chat.
    if ($("members").children.length < 2) { await loadRoom(state.sessionId); watch(state.sessionId); }
    $("invite-code").textContent = `Invite code: ${created.code} (valid until ${new Date(created.expiresAt).toLocaleString()})`;
    $("invite-code").dataset.code = created.code;
  });
}

async function join() {
  await act($("join"), "error", async () => {
    const body = { displayName: $("join-name").value.trim() };
    const persona = $("join-persona").value.trim();
    if (persona) body.persona = persona;
    const room = await api(`/api/invites/${enc($("join-code").value.trim())}/join`, { method: "POST", body });
    $("join-code").value = "";
    await openSession(room.sessionId);
  });
}

async function say(event) {
  event.preventDefault();
  const text = $("chat-input").value;
  if (!text.trim() || !state.sessionId) return;
  await act(null, "error", async () => {
    await api(sessionPath(state.sessionId, "/chat"), { method: "POST", body: { text } });
    $("chat-input").value = "";
  });
}

export function initPlay() {
  $("invite").addEventListener("click", invite);
  $("join").addEventListener("click", join);
  $("chat-form").addEventListener("submit", say);
  $("turn-form").addEventListener("submit", sendTurn);
  $("stop").addEventListener("click", stopTurns);
  $("regenerate").addEventListener("click", () => alternative($("regenerate"), "regenerate"));
  $("continue").addEventListener("click", () => alternative($("continue"), "continue"));
  $("edit-resend").addEventListener("click", () => (resending ? stopResend() : startResend()));
  $("alt-prev").addEventListener("click", () => alternative($("alt-prev"), alternativesOf(latestTurn()).chosen - 1));
  $("alt-next").addEventListener("click", () => alternative($("alt-next"), alternativesOf(latestTurn()).chosen + 1));
  document.querySelectorAll(".chip-button").forEach((b) => b.addEventListener("click", () => openChip(b)));
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("turn-form").requestSubmit(); }
    if (e.key === "Escape" && resending) { stopResend(); $("input").value = ""; }
  });
  on("reopen", (id) => openSession(id));
  on("timeline", () => reload());
}
