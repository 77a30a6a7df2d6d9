// Intervention chips under "Your action": each opens a short form that writes its inline marker into the box
// (docs/api.md, Turns: `(OOC: …)`, `[EDIT: …]`, `[RETCON: …]`, `[TONE: …]`, `[INTENT: …]`).
import { $, h } from "./dom.js";

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

export function initChips() {
  document.querySelectorAll(".chip-button").forEach((b) => b.addEventListener("click", () => openChip(b)));
}
