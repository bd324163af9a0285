// Widgets generated from input schemas: int/float (bounded), string (single or multi-line),
// bool, enum, json, and file pickers filled from the server's file lists.

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

let datalistSeq = 0;

/**
 * Long values in full: the tooltip holds the whole value, and while a one-line field has focus
 * and its text does not fit, its holder shows all of it in a box beneath (CSS `.full-value`).
 */
function showFullValue(field, description) {
  const sync = () => {
    field.title = field.value ? `${field.value}\n${description}` : description;
    const holder = field.parentElement;
    if (!holder) return;
    const open = document.activeElement === field && field.scrollWidth > field.clientWidth;
    holder.classList.toggle("full-value", open);
    if (open) holder.dataset.full = field.value; else delete holder.dataset.full;
  };
  for (const type of ["input", "change", "focus", "blur"]) field.addEventListener(type, sync);
  sync();
}

/** A number that respects the schema: integer or float, clamped into [minimum, maximum]. */
export function coerceNumber(spec, raw) {
  let v = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (!Number.isFinite(v)) return { ok: false, reason: "not a number" };
  if (spec.widget === "int") v = Math.round(v);
  let reason = null;
  if (spec.minimum !== undefined && spec.minimum !== null && v < spec.minimum) { v = spec.minimum; reason = `at least ${spec.minimum}`; }
  if (spec.maximum !== undefined && spec.maximum !== null && v > spec.maximum) { v = spec.maximum; reason = `at most ${spec.maximum}`; }
  return { ok: true, value: v, clamped: reason };
}

/**
 * Build the widget for one input. `value` is the current literal, `onChange(value)` stores a
 * new one; `services.files(kind)` lists server files, `services.upload(file, kind)` uploads.
 */
export function createWidget(spec, value, onChange, services = {}) {
  const kind = spec.widget;
  const common = { "data-widget": spec.name, title: spec.description || spec.name };
  if (kind === "int" || kind === "float") {
    const input = el("input", {
      ...common, type: "number", class: "w-number",
      min: spec.minimum, max: spec.maximum,
      step: spec.step ?? (kind === "int" ? 1 : "any"),
    });
    input.value = value ?? "";
    const commit = () => {
      const r = coerceNumber(spec, input.value);
      if (!r.ok) { input.classList.add("invalid"); input.title = `${spec.name}: ${r.reason}`; return; }
      input.classList.remove("invalid");
      input.title = common.title;
      if (r.clamped) {
        input.value = r.value;
        input.classList.add("clamped");
        setTimeout(() => input.classList.remove("clamped"), 600);
      }
      onChange(r.value);
    };
    input.addEventListener("change", commit);
    return input;
  }
  if (kind === "bool") {
    const box = el("input", { ...common, type: "checkbox", class: "w-bool" });
    box.checked = !!value;
    box.addEventListener("change", () => onChange(box.checked));
    return box;
  }
  if (kind === "enum") {
    const select = el("select", { ...common, class: "w-enum" });
    const options = spec.options || [];
    for (const opt of options) select.append(el("option", { value: String(opt), text: String(opt) }));
    if (value !== undefined && value !== null && !options.map(String).includes(String(value))) {
      select.append(el("option", { value: String(value), text: `${value} (unknown)` }));
    }
    select.value = value === undefined || value === null ? String(options[0] ?? "") : String(value);
    select.addEventListener("change", () => {
      const hit = options.find((o) => String(o) === select.value);
      onChange(hit !== undefined ? hit : select.value);
    });
    return select;
  }
  if (kind === "json") {
    const area = el("textarea", { ...common, class: "w-json", rows: 3, spellcheck: "false" });
    area.value = value === undefined ? "" : JSON.stringify(value, null, 1);
    area.addEventListener("change", () => {
      try {
        const parsed = area.value.trim() === "" ? null : JSON.parse(area.value);
        area.classList.remove("invalid");
        onChange(parsed);
      } catch (err) {
        area.classList.add("invalid");
        area.title = `not valid JSON: ${err.message}`;
      }
    });
    return area;
  }
  if (kind === "file") {
    const wrap = el("div", { class: "w-file" });
    const listId = `ng-files-${++datalistSeq}`;
    const input = el("input", { ...common, type: "text", class: "w-file-name", list: listId, placeholder: fileHint(spec), spellcheck: "false" });
    input.value = value ?? "";
    const list = el("datalist", { id: listId });
    const fill = async () => {
      if (!services.files || !spec.file) return;
      try {
        const schemeNames = (services.schemeNames ? services.schemeNames(spec.file.kind) : []);
        const names = [...new Set([...schemeNames, ...(await services.files(spec.file.kind))])];
        list.replaceChildren(...names.map((n) => el("option", { value: n })));
        input.classList.toggle("missing", !!input.value && !names.includes(input.value) && !/^[a-z]+:/.test(input.value));
      } catch { /* offline: keep what we had */ }
    };
    input.addEventListener("focus", fill);
    input.addEventListener("change", () => { onChange(input.value.trim()); fill(); });
    wrap.append(input, list);
    showFullValue(input, common.title);
    if (services.upload && spec.file && ["image", "input", "video"].includes(spec.file.kind)) {
      const picker = el("input", { type: "file", class: "hidden", accept: (spec.file.extensions || []).join(",") || undefined });
      const btn = el("button", { class: "w-upload", type: "button", title: "upload a file to the server", text: "⇪" });
      btn.addEventListener("click", () => picker.click());
      picker.addEventListener("change", async () => {
        const file = picker.files[0];
        if (!file) return;
        const name = await services.upload(file, spec.file.kind);
        if (name) { input.value = name; onChange(name); fill(); }
      });
      wrap.append(btn, picker);
    }
    fill();
    return wrap;
  }
  // string (and anything unknown that has a widget): text field or text area.
  if (spec.multiline) {
    const area = el("textarea", { ...common, class: "w-text", rows: 3 });
    area.value = value ?? "";
    area.addEventListener("change", () => onChange(area.value));
    const sync = () => { area.title = area.value ? `${area.value}\n${common.title}` : common.title; };
    area.addEventListener("input", sync);
    sync();
    return area;
  }
  const input = el("input", { ...common, type: "text", class: "w-text" });
  input.value = value ?? "";
  input.addEventListener("change", () => onChange(input.value));
  showFullValue(input, common.title);
  return input;
}

function fileHint(spec) {
  const f = spec.file || {};
  const parts = [];
  if (f.kind) parts.push(f.kind);
  if (f.schemes && f.schemes.length) parts.push(f.schemes.map((s) => `${s.replace(/:$/, "")}:…`).join(" "));
  if (!spec.required) parts.push("optional");
  return parts.join(" · ") || "file";
}

export { el };
