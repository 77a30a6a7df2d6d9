// Play: the open session (header, story, live stream), sending turns with Stop, and the alternatives of the latest
// turn (regenerate, continue, edit and resend, ‹ n/m ›). What the story shows and when: story.js; playing together:
// room.js; the intervention chips: chips.js.
import { $, showError, act, money, tokens } from "./dom.js";
import { api, all, sessionPath, enc, ApiError } from "./api.js";
import { follow } from "./sse.js";
import { state, emit, on, alternativesOf } from "./state.js";
import { renderTurn, applyDelta, beginRework, cancelRework, noteFailedRework, reworking, clearStory, latestTurn, openTurns, pendingCount, turnIds, isFinished } from "./story.js";
import { initRoom, loadRoom, clearRoom, renderRoom, renderChat, loadProposals, proposing, propose } from "./room.js";
import { initChips } from "./chips.js";

let stream = null;
// Changes whenever another session starts opening or the page closes its session: work begun for an earlier one
// (a slow read, a second click on another session) sees that it is stale and drops its result. The last click wins.
let generation = 0;

export async function openSession(sessionId) {
  const ticket = ++generation;
  // Nothing of the session shown so far may reach the next one: its stream stops now, before any read.
  stopStream();
  stopResend(true);
  showError();
  let session;
  try { session = await api(sessionPath(sessionId)); }
  catch (err) {
    if (ticket !== generation) return;
    // Its stream is stopped already: show no story rather than the previous one with a form that sends nowhere.
    closeSession();
    showError(err);
    return;
  }
  if (ticket !== generation) return;
  state.sessionId = sessionId;
  state.session = session;
  localStorage.setItem("loom.session", sessionId);
  clearStory();
  updateAlternatives();
  $("empty").hidden = true;
  $("session-header").hidden = false;
  $("turn-form").hidden = false;
  $("opening").hidden = !session.opening;
  $("opening").textContent = session.opening || "";
  renderHeader(session);
  try { await loadTurns(sessionId, ticket); } catch (err) { if (ticket === generation) showError(err); }
  await loadRoom(sessionId);
  if (ticket !== generation) return;
  watch(sessionId);
  emit("session", session);
  // Whoever already started typing (a chip's form, the action itself) keeps the focus.
  if (!$("turn-form").contains(document.activeElement)) $("input").focus();
}

/** Sign out: the page forgets the session (stream, story, the one to resume) without asking the server anything. */
export function closeSession() {
  generation++;
  stopStream();
  stopResend(true);
  clearStory();
  clearRoom();
  state.sessionId = null;
  state.session = null;
  localStorage.removeItem("loom.session");
  for (const id of ["session-header", "turn-form", "opening", "alternatives"]) $(id).hidden = true;
  $("empty").hidden = false;
  $("session-title").textContent = "";
  $("session-meta").textContent = "";
  $("input").value = "";
  showError();
  updateStatus();
}

async function loadTurns(sessionId, ticket = generation) {
  let after = null;
  do {
    const page = await api(`${sessionPath(sessionId, "/turns")}?limit=200${after ? `&after=${enc(after)}` : ""}`);
    if (ticket !== generation) return;
    page.items.forEach((t) => renderTurn(t));
    after = page.next;
  } while (after);
  updateStatus();
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

function updateStatus() {
  const pending = pendingCount();
  $("status").textContent = pending ? `${pending} turn(s) in progress…` : "";
  $("stop").hidden = !pending;
}

/** The latest turn carries the alternatives controls; they act on it only when it has finished. */
function updateAlternatives() {
  const turn = latestTurn();
  $("alternatives").hidden = !turn;
  if (!turn) return;
  const { count, chosen } = alternativesOf(turn);
  // A failed latest turn can be narrated again (regenerate, resend); only a completed one can be continued.
  const finished = isFinished(turn) && !reworking(turn.turnId);
  $("alt-count").textContent = `${chosen + 1}/${count}`;
  $("alt-prev").disabled = !finished || chosen <= 0;
  $("alt-next").disabled = !finished || chosen >= count - 1;
  $("regenerate").disabled = !finished;
  $("continue").disabled = !finished || turn.status !== "completed";
  $("edit-resend").disabled = !finished && !resending;
}

const turnEvents = ["turn.queued", "turn.started", "turn.completed", "turn.failed", "turn.regenerated", "turn.continued", "turn.chosen"];

function onEvent(sessionId, type, data) {
  if (turnEvents.includes(type)) {
    if (data && data.turnId && renderTurn(data, true) === "reread") reread(sessionId, data);
    if (type !== "turn.queued" && type !== "turn.started") { refreshHeader(); emit("turns"); emit("sessions"); }
  } else if (type === "turn.delta") {
    applyDelta(data);
  } else if (type === "session.rolledback" || type === "memory.updated") {
    if (type === "session.rolledback") reload();
    emit("turns");
  } else if (type === "room.members" || type === "room.turn") renderRoom(data);
  else if (type === "room.proposal") loadProposals();
  else if (type === "chat.message") renderChat(data);
  updateStatus();
  updateAlternatives();
}

/** A turn the stream said failed, read again: a failed rework leaves the turn as it was, and the page shows that. */
async function reread(sessionId, failed) {
  const ticket = generation;
  const turn = await api(sessionPath(sessionId, `/turns/${enc(failed.turnId)}`)).catch(() => null);
  if (!turn || ticket !== generation) return;
  renderTurn(turn);
  if (turn.status === "completed") noteFailedRework(failed.turnId, failed.error);
  updateStatus();
  updateAlternatives();
}

function watch(sessionId) {
  stopStream();
  const ticket = generation;
  const current = () => ticket === generation && following === stream && state.sessionId === sessionId;
  const following = follow(sessionPath(sessionId, "/events"), {
    // Only the stream of the session on the page: a stopped one may still hand over what it had already read.
    event: (type, data) => { if (current()) onEvent(sessionId, type, data); },
    open: () => {
      if (!current()) return;
      updateStatus();
      // Re-read the turns whenever the stream (re)opens: a turn sent before the first connection was up (a fast
      // narrator, a slow key check) may have finished unseen, and a resumed stream's server may no longer hold
      // the events it missed. A read never moves a turn back, nor overwrites text the stream has shown (story.js).
      loadTurns(sessionId, ticket).then(refreshHeader).catch(showError);
    },
    lost: (final) => { if (current()) $("status").textContent = final ? "The story's live updates are not available." : "Reconnecting to the story…"; },
  });
  stream = following;
  updateStatus();
}

function stopStream() {
  stream?.stop();
  stream = null;
}

/**
 * Stop: the narrator stops on the server. The running turn and any queued after it end failed as "cancelled"
 * (nothing of them is kept); the stream goes on and shows them so. Newest first, so no queued turn starts meanwhile.
 */
async function stopTurns() {
  const sessionId = state.sessionId;
  if (!sessionId) return;
  const open = openTurns().reverse();
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

/** After a rollback: every page of the live timeline; what is no longer on it was retconned. */
async function reload() {
  const sessionId = state.sessionId;
  if (!sessionId) return;
  const ticket = generation;
  stopResend(true);
  const items = await all(sessionPath(sessionId, "/turns"), Infinity).catch(() => null);
  if (!items || ticket !== generation) return;
  const live = new Set(items.map((t) => t.turnId));
  for (const id of turnIds()) if (!live.has(id)) renderTurn({ turnId: id, status: "retconned" });
  items.forEach((t) => renderTurn(t));
  updateStatus();
  updateAlternatives();
  refreshHeader();
}

async function refreshHeader() {
  const sessionId = state.sessionId;
  if (!sessionId) return;
  const ticket = generation;
  try {
    const session = await api(sessionPath(sessionId));
    if (ticket === generation) renderHeader(session);
  } catch { /* the next event will retry */ }
}

async function sendTurn(event) {
  event.preventDefault();
  const input = $("input").value;
  if (!input.trim() || !state.sessionId) return;
  if (resending) return resend(input);
  const sessionId = state.sessionId;
  // The box is cleared at once and Send stays usable: the next action can be typed and sent while this one is being
  // accepted (a refused one comes back into an empty box).
  $("input").value = "";
  await act(null, "error", async () => {
    if (!stream) watch(sessionId);
    // The server narrates a turn nobody watches in one piece: wait (briefly) for the live stream, so this turn streams.
    await Promise.race([stream.opened, new Promise((resolve) => setTimeout(resolve, 3000))]);
    try {
      if (proposing()) { await propose(input); return; }
      const turn = await api(sessionPath(sessionId, "/turns"), {
        method: "POST", headers: { "Idempotency-Key": crypto.randomUUID() }, body: { input },
      });
      if (state.sessionId === sessionId) renderTurn(turn);
    } catch (err) {
      if (!$("input").value) $("input").value = input;
      throw err;
    }
  });
  updateStatus();
  updateAlternatives();
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
  sendLabel();
  $("edit-resend").textContent = "Cancel edit";
  $("input").focus();
}

/** Leaves resend mode; `clear` also empties the box it filled (another session opened, the timeline changed). */
function stopResend(clear = false) {
  if (clear && resending) $("input").value = "";
  resending = null;
  sendLabel();
  $("edit-resend").textContent = "Edit and resend";
}

const sendLabel = () => { $("send").textContent = resending ? "Resend" : proposing() ? "Propose" : "Send"; };

async function resend(input) {
  const turnId = resending;
  // Refused, the edited words stay in the box, still in resend mode, to be corrected and sent again.
  if (await rework($("send"), turnId, "resend", { input }) && resending === turnId) { $("input").value = ""; stopResend(); }
  updateAlternatives();
  $("input").focus();
}

/** Regenerate, continue and resend: the latest turn narrated again (docs/api.md, Alternatives); the stream shows it. */
async function rework(button, turnId, action, body) {
  const sessionId = state.sessionId;
  const labels = { regenerate: "Regenerate", continue: "Continue", resend: "Resend" };
  beginRework(turnId, labels[action]);
  updateStatus();
  updateAlternatives();
  let accepted = false;
  await act(button, "error", async () => {
    if (!stream) watch(sessionId);
    const answer = await api(sessionPath(sessionId, `/turns/${enc(turnId)}/${action}`), {
      method: "POST", headers: { "Idempotency-Key": crypto.randomUUID() }, ...(body ? { body } : {}),
    });
    accepted = true;
    // The answer (queued) may come after the stream's first chunks, or after it said the rework finished: story.js
    // takes only what is newer than what the page shows.
    if (state.sessionId === sessionId) renderTurn(answer);
  }, explainMissingRoute(button, turnId));
  if (!accepted && state.sessionId === sessionId) cancelRework(turnId);
  updateStatus();
  updateAlternatives();
  emit("turns");
  return accepted;
}

async function choose(button, index) {
  const turn = latestTurn();
  if (!turn) return;
  const sessionId = state.sessionId;
  await act(button, "error", async () => {
    const answer = await api(sessionPath(sessionId, `/turns/${enc(turn.turnId)}/choice`), {
      method: "PUT", headers: { "Idempotency-Key": crypto.randomUUID() }, body: { alternative: index + 1 }, // 1-based on the wire
    });
    if (state.sessionId === sessionId) renderTurn(answer); // a choice answers with the turn as it now is
  }, explainMissingRoute(button, turn.turnId));
  updateAlternatives();
  emit("turns");
}

/** An older gateway has no alternatives routes: say so, with the server's own detail. */
const explainMissingRoute = (button, turnId) => (err) =>
  err instanceof ApiError && err.status === 404 && err.code === "not_found" && !err.problem?.detail?.includes(turnId)
    ? new Error(`${button.getAttribute("aria-label") || button.textContent.trim()} is not available on this server: ${err.message}`)
    : err;

function alternative(button, action) {
  const turn = latestTurn();
  if (turn) return rework(button, turn.turnId, action);
  return undefined;
}

export function initPlay() {
  initChips();
  initRoom({
    open: (id) => openSession(id),
    rewatch: () => { if (state.sessionId) watch(state.sessionId); },
    renderTurn: (turn) => { renderTurn(turn); updateStatus(); updateAlternatives(); },
    changed: sendLabel,
    ticket: () => generation,
  });
  $("turn-form").addEventListener("submit", sendTurn);
  $("stop").addEventListener("click", stopTurns);
  $("regenerate").addEventListener("click", () => alternative($("regenerate"), "regenerate"));
  $("continue").addEventListener("click", () => alternative($("continue"), "continue"));
  $("edit-resend").addEventListener("click", () => (resending ? stopResend() : startResend()));
  $("alt-prev").addEventListener("click", () => choose($("alt-prev"), alternativesOf(latestTurn()).chosen - 1));
  $("alt-next").addEventListener("click", () => choose($("alt-next"), alternativesOf(latestTurn()).chosen + 1));
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("turn-form").requestSubmit(); }
    if (e.key === "Escape" && resending) stopResend(true);
  });
  on("reopen", (id) => openSession(id));
  on("timeline", () => reload());
}
