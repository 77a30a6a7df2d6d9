// Story tree: GET /api/sessions/{id}/tree when the server has it; otherwise the same picture from the turn list
// (with retconned turns) and the sessions forked from this one. Rollback and fork ask for a reason.
import { $, h, showError, act } from "./dom.js";
import { api, sessionPath, all, ApiError } from "./api.js";
import { state, emit, alternativesOf } from "./state.js";

const ERR = "tree-error";

/** The tree in one shape: { turns: [Turn incl. retconned], forks: [Session] }. */
async function loadTree(sessionId) {
  try {
    const tree = await api(sessionPath(sessionId, "/tree"));
    if (tree && Array.isArray(tree.turns)) {
      // The server lists retconned stretches apart ({ afterSeq, turns }); the drawing wants them among the turns, in order.
      let order = 0;
      const gone = (tree.retconned || []).flatMap((r) => (r.turns || []).map((t) => ({ ...t, status: "retconned", createdAt: String(order++).padStart(6, "0") })));
      // The tree names forks by id; their names and sizes come from the caller's session list (a fork it cannot see keeps its id).
      const known = new Map((await all("/api/sessions").catch(() => [])).map((x) => [x.sessionId, x]));
      const forks = (tree.forks || []).map((f) => ({ ...known.get(f.sessionId), ...f, name: known.get(f.sessionId)?.name || f.sessionId }));
      const parent = tree.forkedFrom && typeof tree.forkedFrom === "object" ? `${tree.forkedFrom.sessionId}@${tree.forkedFrom.atSeq}` : tree.forkedFrom || null;
      return { turns: [...tree.turns, ...gone], forks, parent, fromServer: true };
    }
    // An unknown shape: fall through to the turn list, but keep the forks it names.
    const rebuilt = await fallback(sessionId);
    return { ...rebuilt, forks: Array.isArray(tree?.forks) ? tree.forks : rebuilt.forks };
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    return fallback(sessionId);
  }
}

async function fallback(sessionId) {
  const [turns, sessions] = await Promise.all([
    all(`${sessionPath(sessionId, "/turns")}?includeRetconned=true`),
    all("/api/sessions"),
  ]);
  // forkedFrom is "<sessionId>@<seq>": the parent session and the turn the fork was taken at.
  const forks = sessions.map((s) => ({ ...s, ...forkOrigin(s.forkedFrom) })).filter((s) => s.parentId === sessionId);
  return { turns, forks, parent: state.session?.forkedFrom || null, fromServer: false };
}

function forkOrigin(forkedFrom) {
  const at = String(forkedFrom || "").lastIndexOf("@");
  return at < 0 ? { parentId: forkedFrom || null, atSeq: null } : { parentId: forkedFrom.slice(0, at), atSeq: Number(forkedFrom.slice(at + 1)) || null };
}

/** Lanes: the live timeline on lane 0, each retconned stretch on its own lane below the turn it branched from. */
function layout(turns) {
  const live = turns.filter((t) => t.status !== "retconned").sort((a, b) => a.seq - b.seq);
  const gone = turns.filter((t) => t.status === "retconned").sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  const stretches = [];
  for (const t of gone) {
    const last = stretches[stretches.length - 1];
    if (last && t.seq === last[last.length - 1].seq + 1) last.push(t); else stretches.push([t]);
  }
  return { live, stretches };
}

function draw(tree) {
  const { live, stretches } = layout(tree.turns);
  const step = 56, lane = 46, pad = 24;
  const maxSeq = Math.max(1, ...tree.turns.map((t) => t.seq));
  const lanes = 1 + stretches.length + (tree.forks.length ? 1 : 0);
  const width = pad * 2 + maxSeq * step, height = pad * 2 + (lanes - 1) * lane + 20;
  const x = (seq) => pad + (seq - 1) * step + 10;
  const y = (n) => pad + n * lane;
  const svg = h("svg:svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": `Story tree: ${live.length} live turn(s), ${stretches.length} retconned stretch(es), ${tree.forks.length} fork(s)` });
  const line = (x1, y1, x2, y2, cls) => svg.append(h("svg:line", { x1, y1, x2, y2, class: cls }));
  const node = (t, n, cls) => {
    const g = h("svg:g", { class: `node ${cls}` });
    g.append(h("svg:circle", { cx: x(t.seq), cy: y(n), r: 9 }), h("svg:title", {}, `#${t.seq} ${t.status}: ${(t.storyInput || t.input || "").slice(0, 80)}`));
    const { count } = alternativesOf(t);
    g.append(h("svg:text", { x: x(t.seq), y: y(n) + 4, "text-anchor": "middle" }, count > 1 ? `${count}` : String(t.seq)));
    svg.append(g);
  };
  live.forEach((t, i) => { if (i) line(x(live[i - 1].seq), y(0), x(t.seq), y(0), "edge"); });
  stretches.forEach((s, i) => {
    const from = s[0].seq - 1;
    line(from >= 1 ? x(from) : pad, y(0), x(s[0].seq), y(i + 1), "edge retconned");
    s.forEach((t, j) => { if (j) line(x(s[j - 1].seq), y(i + 1), x(t.seq), y(i + 1), "edge retconned"); });
  });
  tree.forks.forEach((f, i) => {
    const at = Math.max(1, f.atSeq || f.turnCount || 1);
    const fx = x(at) + 18 + i * 10;
    line(x(at), y(0), fx, y(lanes - 1), "edge fork");
    svg.append(h("svg:text", { x: fx + 4, y: y(lanes - 1) + 4, class: "fork-label" }, f.name));
  });
  live.forEach((t) => node(t, 0, "live"));
  stretches.forEach((s, i) => s.forEach((t) => node(t, i + 1, "retconned")));
  return svg;
}

/** Asks for the reason (required when the session's policy says so) and, for a fork, a name. */
export function askReason({ title, hint, required, withName, defaultName }) {
  const dialog = $("reason-dialog");
  $("reason-title").textContent = title;
  $("reason-hint").textContent = hint;
  $("reason-text").value = "";
  $("reason-text").required = !!required;
  $("reason-text").minLength = required ? (state.session?.policy?.minJustificationChars || 1) : 0;
  $("reason-name").hidden = $("reason-name-label").hidden = !withName;
  $("reason-name").value = defaultName || "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"
      ? { reason: $("reason-text").value.trim(), name: $("reason-name").value.trim() } : null), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("reason-text").focus();
  });
}

async function rollback(button, turn) {
  const required = !!state.session?.policy?.requireJustification;
  const answer = await askReason({
    title: `Roll back to turn ${turn.seq}`,
    hint: `Turns after #${turn.seq} become retconned and memory returns to its state after it.` + (required ? " This world asks for a reason." : ""),
    required,
  });
  if (!answer) return;
  await act(button, ERR, async () => {
    await api(sessionPath(state.sessionId, "/rollback"), {
      method: "POST", headers: { "Idempotency-Key": crypto.randomUUID() },
      body: { toSeq: turn.seq, ...(answer.reason ? { reason: answer.reason } : {}) },
    });
    emit("timeline");
    emit("sessions");
    await render();
  });
}

async function fork(button, turn) {
  const required = !!state.session?.policy?.requireJustification;
  const answer = await askReason({
    title: `Fork a new story from turn ${turn.seq}`,
    hint: "The new session keeps turns 1.." + turn.seq + " and this one stays as it is." + (required ? " This world asks for a reason." : ""),
    required, withName: true, defaultName: `${state.session?.name || "Story"} (fork at ${turn.seq})`,
  });
  if (!answer) return;
  await act(button, ERR, async () => {
    const created = await api(sessionPath(state.sessionId, "/fork"), {
      method: "POST", headers: { "Idempotency-Key": crypto.randomUUID() },
      body: { atSeq: turn.seq, ...(answer.name ? { name: answer.name } : {}), ...(answer.reason ? { reason: answer.reason } : {}) },
    });
    emit("sessions");
    await render();
    $("tree-forks").querySelector(`[data-session="${CSS.escape(created.sessionId)}"] button`)?.focus();
  });
}

export async function render() {
  showError(null, ERR);
  if (!state.sessionId) { $("tree-drawing").replaceChildren(h("p", { class: "muted" }, "Open a session first.")); $("tree-turns").replaceChildren(); $("tree-forks").replaceChildren(); return; }
  const sessionId = state.sessionId;
  let tree;
  try { tree = await loadTree(sessionId); } catch (err) { showError(err, ERR); return; }
  if (state.sessionId !== sessionId) return;
  $("tree-drawing").replaceChildren(draw(tree), h("p", { class: "muted small" }, tree.fromServer ? "" : "Drawn from the turn list and forks (this server has no /tree route)."));
  const { live, stretches } = layout(tree.turns);
  $("tree-turns").replaceChildren(...live.map((t) => {
    const { count, chosen } = alternativesOf(t);
    const rb = h("button", { type: "button", class: "secondary", disabled: t.status !== "completed" }, "Rollback here");
    const fk = h("button", { type: "button", class: "secondary", disabled: t.status !== "completed" }, "Fork here");
    rb.addEventListener("click", () => rollback(rb, t));
    fk.addEventListener("click", () => fork(fk, t));
    return h("li", { dataset: { seq: t.seq } },
      h("span", { class: "seq" }, `#${t.seq}`),
      h("span", { class: "text" }, (t.storyInput || t.input || "").slice(0, 120), count > 1 ? h("span", { class: "muted" }, ` · alternative ${chosen + 1}/${count}`) : ""),
      h("span", { class: "actions" }, rb, fk));
  }), ...stretches.map((s) => h("li", { class: "retconned" },
    h("span", { class: "seq" }, `#${s[0].seq}–${s[s.length - 1].seq}`),
    h("span", { class: "text muted" }, `retconned: ${s.map((t) => (t.storyInput || t.input || "").slice(0, 40)).join(" / ")}`))));
  $("tree-forks").replaceChildren(...(tree.forks.length ? tree.forks.map((f) => {
    const open = h("button", { type: "button", class: "secondary", "aria-label": `Open fork ${f.name}` }, "Open");
    open.addEventListener("click", () => emit("reopen", f.sessionId));
    return h("li", { dataset: { session: f.sessionId } }, `${f.name} · from turn ${f.atSeq ?? "?"} · ${f.turnCount} turn(s) `, open);
  }) : [h("li", { class: "muted" }, "No forks yet.")]));
}
