// What the studio's areas share: the open session and a tiny event bus ("session" when another one opens,
// "turns" when the timeline changed, "sessions" when the list should be re-read).

export const state = {
  sessionId: localStorage.getItem("loom.session"),
  session: null,
  worlds: [],
};

const listeners = new Map();
export function on(name, fn) { (listeners.get(name) || listeners.set(name, []).get(name)).push(fn); }
export function emit(name, value) { (listeners.get(name) || []).forEach((fn) => fn(value)); }

/** How many alternatives a turn holds and which one counts (0-based), whatever shape the server uses. */
export function alternativesOf(turn) {
  // The API's Turn carries { count, chosen (1-based), items } once a turn has more than one alternative (docs/api.md).
  const alts = turn && turn.alternatives;
  if (!alts || typeof alts !== "object") return { count: 1, chosen: 0 };
  const count = Math.max(Number(alts.count) || 1, 1);
  const chosen = Math.min(Math.max((Number(alts.chosen) || 1) - 1, 0), count - 1);
  return { count, chosen };
}
