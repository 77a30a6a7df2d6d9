// The public REST API (docs/api.md) and nothing else: every call sends the API key when one is set, and every
// failure becomes an Error whose message is the server's problem detail (field errors first).

const KEY = "loom.apiKey";

export const auth = {
  get key() { return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || ""; },
  /** Keeps the key for this tab only, or on this device when remember is set. */
  set(key, remember) {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    if (key) (remember ? localStorage : sessionStorage).setItem(KEY, key);
  },
};

export class ApiError extends Error {
  constructor(status, problem, fallback) {
    const fieldErrors = problem && problem.errors && !Array.isArray(problem.errors) ? Object.values(problem.errors).flat().join(" ") : "";
    super(fieldErrors || (problem && (problem.detail || problem.title)) || fallback || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.code = problem && problem.code;
  }
}

export function headers(extra = {}) {
  const key = auth.key;
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

let onUnauthorized = () => {};
export function whenUnauthorized(handler) { onUnauthorized = handler; }
/** A 401 met outside api() (the event stream): the same sign-in path. */
export function reportUnauthorized() { onUnauthorized(); }

/** JSON in, JSON out; `raw: true` returns the Response (exports), `body` may be a string or an object. */
export async function api(path, { method = "GET", body, raw = false, headers: extra = {}, signal } = {}) {
  const init = { method, signal, headers: headers(extra) };
  if (body !== undefined) {
    // Files (cards, lorebooks, chats) go as they are; anything else is JSON.
    init.body = typeof body === "string" || body instanceof Blob || body instanceof ArrayBuffer ? body : JSON.stringify(body);
    if (!init.headers["content-type"]) init.headers["content-type"] = "application/json";
  }
  const res = await fetch(path, init);
  if (res.status === 401) onUnauthorized();
  if (!res.ok) {
    const type = res.headers.get("content-type") || "";
    const problem = type.includes("json") ? await res.json().catch(() => null) : null;
    throw new ApiError(res.status, problem, res.status === 404 && !problem ? `${method} ${path}: not found on this server` : undefined);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  return type.includes("json") ? res.json() : res.text();
}

export const enc = encodeURIComponent;
export const sessionPath = (id, rest = "") => `/api/sessions/${enc(id)}${rest}`;

/** Every page of a `{ items, next }` list. */
export async function all(path, max = 2000) {
  const items = [];
  let after = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${sep}limit=200${after ? `&after=${enc(after)}` : ""}`);
    items.push(...page.items);
    after = page.next;
  } while (after && items.length < max);
  return items;
}
