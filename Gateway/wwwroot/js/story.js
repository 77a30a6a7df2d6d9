// The story on the Play page: one list item per turn, and the rules that keep what it shows right while turns stream,
// are reworked (regenerate, continue, resend) and are read again over REST (docs/api.md, Turns and Alternatives).
//
// - The event stream is in order and owns a running turn's text: a `turn.started` carries the text so far (the
//   server's snapshot when a stream opens mid-turn) and each `turn.delta` adds to it. A REST read of a running turn
//   (taken at another moment) sets the text only while the stream has not shown any of it.
// - A REST read or a POST's answer never moves a turn back to an earlier status (it can arrive after the stream said
//   the turn finished), and while a rework runs only the stream reports its progress.
// - A failed rework leaves the turn as it was (docs/api.md): the page shows the turn as it was and the failure as a
//   notice, and asks its caller to read the turn again.
import { $, h, money, tokens } from "./dom.js";
import { alternativesOf } from "./state.js";

const turns = new Map();   // turnId -> { li, you, chips, narrative, ooc, meta, failure, notice, rank, turn, live, rework }
let order = [];            // turnIds in timeline order

const statusRank = { queued: 0, running: 1, completed: 2, failed: 2, retconned: 3 };
export const isPending = (t) => !!t && (t.status === "queued" || t.status === "running");
export const isFinished = (t) => !!t && (t.status === "completed" || t.status === "failed");

export function clearStory() {
  turns.clear();
  order = [];
  $("story").replaceChildren();
}

export const turnIds = () => [...order];

/** The latest turn the page knows (the alternatives controls act on it). */
export function latestTurn() {
  for (let i = order.length - 1; i >= 0; i--) {
    const e = turns.get(order[i]);
    if (e && e.turn) return e.turn;
  }
  return null;
}

/** Turns the server has not finished (Stop cancels them). */
export const openTurns = () => [...turns.values()].map((e) => e.turn).filter(isPending);

export const pendingCount = () => [...turns.values()].filter((e) => e.narrative.classList.contains("streaming")).length;

function entry(turnId) {
  let e = turns.get(turnId);
  if (!e) {
    const you = h("div", { class: "you" });
    const chips = h("div", { class: "chips" });
    const narrative = h("div", { class: "narrative" });
    const ooc = h("aside", { class: "ooc-reply", hidden: true, "aria-label": "Out-of-character reply" });
    const meta = h("div", { class: "turn-meta muted" });
    const failure = h("div", { class: "failed" });
    const notice = h("div", { class: "notice", role: "status" });
    const li = h("li", { dataset: { turn: turnId } }, you, chips, narrative, ooc, meta, failure, notice);
    $("story").append(li);
    e = { li, you, chips, narrative, ooc, meta, failure, notice, live: false, rework: null };
    turns.set(turnId, e);
    order.push(turnId);
  }
  return e;
}

/**
 * Shows a turn from the stream (`fromStream`) or from a REST read or POST answer. Returns "reread" when the turn should
 * be read again (GET …/turns/{id}): a rework failed, or a turn failed that may have been a rework the page did not see start.
 */
export function renderTurn(turn, fromStream = false) {
  if (!turn || !turn.turnId) return undefined;
  const e = turns.get(turn.turnId);
  if (turn.status === "retconned") {
    if (e) { e.li.remove(); turns.delete(turn.turnId); order = order.filter((id) => id !== turn.turnId); }
    return undefined;
  }
  return fromStream ? streamed(e ?? entry(turn.turnId), turn) : read(e ?? entry(turn.turnId), turn);
}

function read(e, turn) {
  if (e.rework) {
    // Only the stream reports a rework's progress. A pending read (the POST's answer) shows the server has it.
    if (!isFinished(turn)) {
      e.rework.accepted = true;
      return undefined;
    }
    if (sameTake(turn, e.rework.before)) {
      // Before the server had the rework, this read is merely older than it. After, the server shows the turn as it
      // was: the rework failed or was stopped while the stream was away (its turn.failed was missed).
      if (!e.rework.accepted) return undefined;
      const label = e.rework.label ?? "The new take";
      e.rework = null;
      e.live = false;
      e.rank = undefined;
      show(e, turn, { text: true });
      e.notice.textContent = `${label} did not finish. The turn is as it was.`;
      return undefined;
    }
    e.rework = null; // it ended while the stream was away: the read has it whole
  }
  const rank = statusRank[turn.status] ?? 0;
  if (e.rank !== undefined && rank < e.rank) return undefined;
  show(e, turn, { text: !(isPending(turn) && e.live) });
  return undefined;
}

function streamed(e, turn) {
  const wasFinished = isFinished(e.turn);
  // A finished turn queued or started again is being reworked (by this page or another of the story's players).
  if (isPending(turn) && wasFinished && !e.rework) beginRework(turn.turnId);
  if (isPending(turn) && e.rework) e.rework.accepted = true;
  if (turn.status === "failed" && (e.rework || wasFinished)) {
    const before = e.rework?.before ?? e.turn;
    const label = e.rework?.label ?? "The new take";
    e.rework = null;
    e.live = false;
    e.rank = undefined;
    if (before) show(e, before, { text: true });
    e.notice.textContent = `${label} failed: ${turn.error?.message ?? "unknown error"} The turn is as it was.`;
    return "reread";
  }
  if (isFinished(turn)) {
    e.rework = null;
    e.live = false;
    e.rank = undefined;
    show(e, turn, { text: true });
    return turn.status === "failed" ? "reread" : undefined;
  }
  if (e.rework) {
    // A rework's view carries the narrator's prompt as storyInput: keep the player's words, unless a resend changed them.
    show(e, turn, { text: turn.status === "running", you: false, chips: false });
    if (turn.input !== e.rework.before?.input) e.you.textContent = turn.input;
  } else {
    const rank = statusRank[turn.status] ?? 0;
    if (e.rank !== undefined && rank < e.rank) return undefined;
    show(e, turn, { text: turn.status === "running" });
  }
  if (turn.status === "running") e.live = true;
  return undefined;
}

/** A chunk of narration. Returns false when it belongs to no turn the page is showing as running. */
export function applyDelta(data) {
  const e = data && turns.get(data.turnId);
  // Its turn.queued/started come first on a stream; a chunk of a turn that ended is in its final text already.
  if (!e || !isPending(e.turn)) return false;
  e.narrative.textContent += data.text;
  e.live = true;
  e.narrative.classList.add("streaming");
  e.li.scrollIntoView({ block: "end" });
  return true;
}

/** This page asked for a rework of the turn (label: "Regenerate", "Continue" or "Resend"). */
export function beginRework(turnId, label) {
  const e = turns.get(turnId);
  if (!e) return;
  if (!e.rework) e.rework = { before: e.turn, label };
  else if (label) e.rework.label = label;
  e.notice.textContent = "";
  e.narrative.classList.add("streaming");
}

/** The rework was refused before it was queued: the turn is as it was. */
export function cancelRework(turnId) {
  const e = turns.get(turnId);
  if (!e || !e.rework || !isFinished(e.turn)) return;
  e.rework = null;
  e.narrative.classList.remove("streaming");
}

/** A failed turn read again that turned out to be finished otherwise: the failure was a rework's, the turn is as it was. */
export function noteFailedRework(turnId, error) {
  const e = turns.get(turnId);
  if (e && !e.notice.textContent) e.notice.textContent = `The new take failed: ${error?.message ?? "unknown error"} The turn is as it was.`;
}

export const turnOf = (turnId) => turns.get(turnId)?.turn;

/** A rework of the turn was asked for or is running. */
export const reworking = (turnId) => !!turns.get(turnId)?.rework;

const sameTake = (a, b) => !!b && a.status === b.status && a.completedAt === b.completedAt &&
  alternativesOf(a).count === alternativesOf(b).count && alternativesOf(a).chosen === alternativesOf(b).chosen;

function show(e, turn, { text, you = true, chips = true }) {
  e.rank = statusRank[turn.status] ?? 0;
  e.turn = turn;
  // In a shared session storyInput already names the speaker ("Bran: …").
  if (you) e.you.textContent = turn.storyInput || turn.input;
  if (chips) {
    e.chips.replaceChildren(...(turn.interventions || []).map((i) =>
      h("span", { class: `chip ${i.status || ""}`, title: i.detail || "" }, `${i.type}: ${i.content}`)));
    e.ooc.hidden = !turn.oocReply;
    e.ooc.textContent = turn.oocReply ? `OOC: ${turn.oocReply}` : "";
  }
  if (text) e.narrative.textContent = continued(e, turn) ?? turn.narrative ?? "";
  e.narrative.classList.toggle("streaming", isPending(turn));
  const usage = turn.usage || {};
  const { count, chosen } = alternativesOf(turn);
  e.meta.textContent = `#${turn.seq} · ${turn.status}` + (turn.status === "completed"
    ? ` · ${tokens(usage)} tokens · ${money(usage.costUsd)}${turn.latencyMs ? ` · ${(turn.latencyMs / 1000).toFixed(1)} s` : ""}` : "") +
    (count > 1 ? ` · alternative ${chosen + 1}/${count}` : "");
  e.failure.textContent = turn.status === "failed" ? `This turn failed: ${turn.error?.message ?? "unknown error"}` : "";
  e.li.scrollIntoView({ block: "end" });
}

/** A continuation starts with the text it carries on, then a blank line (as the server joins them), then what streams. */
function continued(e, turn) {
  const base = e.rework?.before?.narrative;
  if (turn.status !== "running" || !base || !turn.narrative) return undefined;
  return turn.narrative.trimEnd() === base.trimEnd() ? `${base.trimEnd()}\n\n` : undefined;
}
