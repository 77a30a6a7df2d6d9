// Playing together (docs/multiplayer.md): the room panel (players, presence, whose turn), invites and joining, the
// side chat, and host mode's proposals (players propose an action; the owner accepts it as a turn or rejects it).
import { $, h, act } from "./dom.js";
import { api, sessionPath, enc } from "./api.js";
import { state } from "./state.js";

let room = null;
let role = null; // the caller's role, from GET …/room (the room events' copy of the room does not say it)
// Set by the Play page: open(sessionId), rewatch() (reconnect the stream), renderTurn(turn), changed() (the room's mode
// or the caller's role changed), ticket() (a number that changes whenever another session opens or the page closes).
let hooks = null;

export const proposing = () => !!room && room.mode === "host" && role === "player";

export function clearRoom() {
  room = null;
  role = null;
  $("together").hidden = true;
  $("members").replaceChildren();
  $("chat-lines").replaceChildren();
  $("invite-code").textContent = "";
  delete $("invite-code").dataset.code;
  $("proposals").hidden = true;
  $("proposal-list").replaceChildren();
  hooks?.changed();
}

export async function loadRoom(sessionId) {
  const ticket = hooks.ticket();
  clearRoom();
  try {
    const read = await api(sessionPath(sessionId, "/room"));
    if (ticket !== hooks.ticket()) return;
    role = read.yourRole;
    renderRoom(read);
    if (read.members.length > 1 && role !== "spectator") {
      const { items } = await api(sessionPath(sessionId, "/chat"));
      if (ticket !== hooks.ticket()) return;
      items.forEach(renderChat);
    }
  } catch { if (ticket === hooks.ticket()) $("together").hidden = true; }
}

export function renderRoom(read) {
  const modeChanged = room?.mode !== read.mode;
  room = read;
  $("together").hidden = false;
  $("invite").hidden = role !== "owner";
  $("side-chat").hidden = read.members.length < 2 || role === "spectator";
  $("members").replaceChildren(...read.members.map((m) => {
    const li = h("li", { dataset: { member: m.memberId }, title: m.persona || undefined }, `${m.displayName} (${m.role})`);
    li.classList.toggle("online", m.online);
    li.classList.toggle("turn", read.currentTurn === m.memberId);
    return li;
  }));
  const current = read.members.find((m) => m.memberId === read.currentTurn);
  $("whose-turn").textContent = read.mode === "round" && current ? `${current.displayName}'s turn`
    : read.mode === "host" ? (role === "owner" ? "players propose, you accept or reject" : "propose an action; the owner accepts or rejects it") : "";
  $("proposals").hidden = read.mode !== "host";
  if (modeChanged) loadProposals();
  hooks.changed();
}

export function renderChat(line) {
  const li = h("li", {}, h("span", { class: "who" }, line.displayName), line.text);
  $("chat-lines").append(li);
  li.scrollIntoView({ block: "nearest" });
}

/** The open proposals of a host-mode session (re-read when `room.proposal` says one was made, accepted or rejected). */
export async function loadProposals() {
  const ticket = hooks.ticket();
  if (!room || room.mode !== "host") { $("proposal-list").replaceChildren(); return; }
  const { items } = await api(sessionPath(room.sessionId, "/proposals")).catch(() => ({ items: [] }));
  if (ticket !== hooks.ticket() || !room) return;
  const names = new Map(room.members.map((m) => [m.memberId, m.displayName]));
  $("proposal-list").replaceChildren(...(items.length ? items.map((p) => {
    const who = names.get(p.memberId) ?? p.memberId;
    const li = h("li", { dataset: { proposal: p.proposalId } }, h("span", { class: "who" }, who), p.input);
    if (role === "owner") {
      const accept = h("button", { type: "button", "aria-label": `Accept ${who}'s proposal` }, "Accept");
      const reject = h("button", { type: "button", class: "secondary", "aria-label": `Reject ${who}'s proposal` }, "Reject");
      accept.addEventListener("click", () => decide(accept, p, "accept"));
      reject.addEventListener("click", () => decide(reject, p, "reject"));
      li.append(accept, reject);
    }
    return li;
  }) : [h("li", { class: "muted" }, "No proposals waiting.")]));
}

async function decide(button, proposal, verdict) {
  const sessionId = room.sessionId;
  await act(button, "error", async () => {
    const turn = await api(sessionPath(sessionId, `/proposals/${enc(proposal.proposalId)}/${verdict}`), { method: "POST", ...(verdict === "accept" ? { body: {} } : {}) });
    if (turn && turn.turnId) hooks.renderTurn(turn);
    await loadProposals();
  });
}

/** Host mode, as a player: the action goes to the owner as a proposal instead of into the story. */
export async function propose(input) {
  const created = await api(sessionPath(room.sessionId, "/proposals"), { method: "POST", body: { input } });
  $("status").textContent = "Proposed: the owner accepts or rejects it.";
  await loadProposals();
  return created;
}

async function invite() {
  await act($("invite"), "error", async () => {
    const created = await api(sessionPath(state.sessionId, "/invites"), { method: "POST", body: { role: "player" } });
    // A stream opened while the session was solo carries no room events: reconnect to get members, presence and chat.
    if ($("members").children.length < 2) { await loadRoom(state.sessionId); hooks.rewatch(); }
    $("invite-code").textContent = `Invite code: ${created.code} (valid until ${new Date(created.expiresAt).toLocaleString()})`;
    $("invite-code").dataset.code = created.code;
  });
}

async function join() {
  await act($("join"), "error", async () => {
    const body = { displayName: $("join-name").value.trim() };
    const persona = $("join-persona").value.trim();
    if (persona) body.persona = persona;
    const joined = await api(`/api/invites/${enc($("join-code").value.trim())}/join`, { method: "POST", body });
    $("join-code").value = "";
    await hooks.open(joined.sessionId);
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

export function initRoom(playHooks) {
  hooks = playHooks;
  $("invite").addEventListener("click", invite);
  $("join").addEventListener("click", join);
  $("chat-form").addEventListener("submit", say);
}
