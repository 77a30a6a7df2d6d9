// Small DOM helpers shared by every studio module (no framework, no build step).

export const $ = (id) => document.getElementById(id);

/** Creates an element: h("button", { class: "x", "aria-label": "Stop", onclick }, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && !svg && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The message of an error (the server's problem detail when there is one) in a page's alert area. */
export function showError(err, target = "error") {
  const el = typeof target === "string" ? $(target) : target;
  if (el) el.textContent = err ? String(err.message || err) : "";
}

export const money = (usd) => `$${Number(usd || 0).toFixed(usd && usd < 0.01 ? 5 : 4)}`;
export const tokens = (u) => (u ? Number(u.promptTokens || 0) + Number(u.completionTokens || 0) : 0);

/** Runs an action from a button: clears the area's error, disables the button while it runs, shows a failure. */
export async function act(button, errorTarget, action, explain = (err) => err) {
  showError(null, errorTarget);
  if (button) button.disabled = true;
  try { return await action(); }
  catch (err) { showError(explain(err), errorTarget); return undefined; }
  finally { if (button) button.disabled = false; }
}

/** Offers text as a file download (exports). */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
