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
  const alts = turn && turn.alternatives;
  const count = Array.isArray(alts) ? alts.length : Number(alts || turn?.alternativeCount || 1) || 1;
  const chosen = Number(turn?.chosenAlternative ?? turn?.alternative ?? turn?.choice ?? (Array.isArray(alts) ? alts.findIndex((a) => a && a.chosen) : 0));
  return { count: Math.max(count, 1), chosen: Number.isFinite(chosen) && chosen >= 0 ? chosen : 0 };
}
