// One node's DOM: header (title, status, id), output and input rows with sockets and widgets,
// progress bar, error box and output previews. Pure builders: the canvas owns placement, wires
// and events; this file owns what a node looks like, so per-node features (previews, timings)
// extend `buildNodeElement` / `applyRunState` here without touching the canvas's architecture.

import { isLink } from "./graph.js";
import { parseSweepText, sweepText } from "./sweep.js";
import { mediaElement } from "./video.js";
import { createWidget, el } from "./widgets.js";

/**
 * Build the element of `node` (its spec may be missing: an unknown type keeps its inputs as JSON).
 * `literal(name)` gives a widget's value, `onLiteral(name, value)` stores a new one;
 * `swept(name)` gives a swept input's values, `onSweep(name, values | null)` sweeps it or stops.
 */
export function buildNodeElement(node, catalogue, { services, literal, onLiteral, swept = () => undefined, onSweep = null }) {
  const spec = catalogue.get(node.type);
  const box = el("div", { class: "node", "data-node-id": node.id, "data-node-type": node.type, tabindex: "-1" });
  if (!spec) box.classList.add("unknown");
  if (spec && spec.output_node) box.classList.add("output-node");
  if (spec && spec.category) box.dataset.category = spec.category;
  const header = el("div", { class: "node-header", title: spec ? spec.description || node.type : `${node.type} is not installed on the server` },
    el("span", { class: "node-title" }),
    el("span", { class: "node-mode" }),
    el("span", { class: "node-status" }),
    el("span", { class: "node-id", text: `#${node.id}` }));
  box.append(header);
  const body = el("div", { class: "node-body" });
  for (const out of spec ? spec.outputs : []) {
    body.append(el("div", { class: "row out", "data-output": out.name, "data-socket-type": out.type },
      el("span", { class: "label", text: out.name }),
      el("span", { class: "type-tag", text: out.type }),
      socket("out", out.name, out.type, catalogue.color(out.type))));
  }
  const inputs = spec ? spec.inputs : Object.keys(node.inputs).map((name) => ({ name, type: "*", widget: isLink(node.inputs[name]) ? null : "json" }));
  for (const input of inputs) {
    const value = node.inputs[input.name];
    const linked = isLink(value);
    const row = el("div", { class: `row in${linked ? " linked" : ""}${input.required ? " required" : ""}`, "data-input": input.name, "data-socket-type": input.type, title: input.description || "" },
      socket("in", input.name, input.type, catalogue.color(input.type)),
      el("span", { class: "label", text: input.name }));
    if (input.widget && !linked) {
      const values = swept(input.name);
      const widget = values ? sweepWidget(input, values, (v) => onSweep(input.name, v))
        : createWidget(input, literal(input.name), (v) => onLiteral(input.name, v), services);
      widget.classList.add("widget");
      row.append(widget);
      if (values) row.classList.add("swept");
      else if ((input.widget === "string" && input.multiline) || input.widget === "json") row.classList.add("tall");
      if (onSweep && spec) row.append(sweepToggle(input, values, literal, (v) => onSweep(input.name, v)));
    } else {
      row.append(el("span", { class: "type-tag", text: linked ? `← #${value.from}.${value.output}` : input.type }));
    }
    body.append(row);
  }
  box.append(body);
  box.append(el("div", { class: "node-progress" }, el("div", { class: "bar" })));
  box.append(el("div", { class: "node-error hidden" }));
  box.append(el("div", { class: "node-output hidden" }));
  applyLook(box, node);
  return box;
}

/** Title, colour and mode (bypass/mute): the parts of a node's look that editing changes in place. */
export function applyLook(box, node) {
  const ui = node.ui || {};
  box.querySelector(".node-title").textContent = ui.title || node.type;
  box.querySelector(".node-title").title = ui.title ? node.type : "";
  if (ui.color) box.style.setProperty("--node-color", ui.color); else box.style.removeProperty("--node-color");
  box.classList.toggle("colored", !!ui.color);
  box.dataset.mode = node.mode || "";
  box.querySelector(".node-mode").textContent = node.mode || "";
}

/** The field of a swept input: its values as text (a list or FROM:TO:STEP), red while unreadable. */
function sweepWidget(spec, values, onValues) {
  const field = el("input", { type: "text", class: "w-sweep", "data-widget": spec.name, "data-sweep": spec.name, spellcheck: "false",
    placeholder: spec.widget === "int" || spec.widget === "float" ? "0, 0.5, 1  or  0:1:0.25" : "a, b, c" });
  field.value = sweepText(spec, values);
  const hint = `${spec.name}: swept, one cell per value (a list, FROM:TO:STEP, or a JSON array)`;
  field.title = hint;
  field.addEventListener("change", () => {
    try {
      const parsed = parseSweepText(spec, field.value);
      field.classList.remove("invalid");
      field.title = `${hint}\n${parsed.length} value${parsed.length === 1 ? "" : "s"}`;
      onValues(parsed);
    } catch (err) {
      field.classList.add("invalid");
      field.title = `${spec.name}: ${err.message}`;
    }
  });
  return field;
}

/** The per-input switch between one value and a sweep; sweeping starts from the current value. */
function sweepToggle(spec, values, literal, onSweep) {
  const on = !!values;
  const b = el("button", { type: "button", class: `sweep-toggle${on ? " on" : ""}`, "data-sweep-toggle": spec.name,
    title: on ? "stop sweeping: back to one value" : "sweep: try several values of this input, one cell each", text: "⋮" });
  b.setAttribute("aria-pressed", on ? "true" : "false");
  b.addEventListener("click", () => {
    if (on) return onSweep(null);
    const v = literal(spec.name);
    onSweep(v === undefined || v === null ? [] : [v]);
  });
  return b;
}

function socket(dir, name, type, color) {
  const attrs = { class: `socket ${dir}`, "data-socket-type": type, title: type };
  attrs[dir === "out" ? "data-output" : "data-input"] = name;
  const s = el("span", attrs);
  s.style.setProperty("--c", color);
  return s;
}

/**
 * Show a node's run state {status, value, max, error, errorInputs, images, text} on its element.
 * `onResize` is called when previews change the node's size (its wires must follow).
 */
export function applyRunState(box, s, onResize) {
  box.dataset.status = s.status || "";
  const status = box.querySelector(".node-status");
  status.textContent = s.status ? statusLabel(s) : "";
  status.title = s.status === "done" ? phasesLabel(s.phases) : "";
  const bar = box.querySelector(".node-progress");
  const frac = s.max ? Math.max(0, Math.min(1, s.value / s.max)) : 0;
  bar.classList.toggle("active", s.status === "running" && !!s.max);
  bar.firstChild.style.width = `${(frac * 100).toFixed(1)}%`;
  bar.dataset.value = s.value ?? "";
  bar.dataset.max = s.max ?? "";
  const err = box.querySelector(".node-error");
  err.classList.toggle("hidden", !s.error);
  err.textContent = s.error || "";
  if (s.errorInputs || box.querySelector(".row.input-error")) {
    for (const row of box.querySelectorAll(".row.in")) {
      row.classList.toggle("input-error", !!(s.errorInputs && s.errorInputs.includes(row.dataset.input)));
    }
  }
  const out = box.querySelector(".node-output");
  const images = s.images || [];
  out.classList.toggle("hidden", images.length === 0 && !s.text);
  const existing = [...out.querySelectorAll("img, video")].map((i) => i.getAttribute("src"));
  if (existing.join("\n") !== images.join("\n") || (out.querySelector("pre")?.textContent ?? "") !== (s.text || "")) {
    out.replaceChildren();
    for (const src of images) {  // clips (.mp4/.webm) play inline as muted looping <video>s
      const media = mediaElement(src, { className: "preview", alt: "output preview" });
      media.addEventListener(media.tagName === "VIDEO" ? "loadedmetadata" : "load", onResize);
      out.append(media);
    }
    if (s.text) out.append(el("pre", { class: "text-preview", text: s.text }));
  }
}

function statusLabel(s) {
  if (s.status === "running") return s.max ? `${Math.round((100 * s.value) / s.max)}%` : "running";
  if (s.status === "done" && typeof s.seconds === "number") return `done · ${formatSeconds(s.seconds)}`;
  return s.status;
}

/** Where a node's time went, as its executed event reported it: "imports 2.6 s · load 0.14 s". */
function phasesLabel(phases) {
  return Object.entries(phases || {}).map(([name, seconds]) => `${name} ${formatSeconds(seconds)}`).join(" · ");
}

/** A node's run time, as precise as it is worth reading: 12 ms, 0.42 s, 3.1 s, 2 m 05 s. */
export function formatSeconds(seconds) {
  if (seconds < 0.1) return `${Math.max(1, Math.round(seconds * 1000))} ms`;
  if (seconds < 10) return `${seconds.toFixed(seconds < 1 ? 2 : 1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const total = Math.round(seconds);
  return `${Math.floor(total / 60)} m ${String(total % 60).padStart(2, "0")} s`;
}
