// A context menu: a list of actions (with colour swatches or a search box where asked), opened at
// a screen point, closed by Escape, a click elsewhere or choosing an entry.

import { el } from "./widgets.js";

export const COLORS = [
  ["red", "#6b2f36"], ["brown", "#5a4030"], ["green", "#2f5a3a"], ["blue", "#2d4466"],
  ["cyan", "#2a5560"], ["purple", "#4a3466"], ["yellow", "#66582a"], ["black", "#1b1d24"],
];

export class ContextMenu {
  constructor() {
    this.el = null;
    window.addEventListener("pointerdown", (e) => { if (this.el && !this.el.contains(e.target)) this.close(); }, true);
    window.addEventListener("keydown", (e) => { if (e.key === "Escape" && this.el) { e.stopPropagation(); this.close(); } }, true);
    window.addEventListener("blur", () => this.close());
  }

  close() {
    if (this.el) this.el.remove();
    this.el = null;
  }

  /**
   * Open at (x, y). Items: {label, action, danger, checked} | {colors: (color|null) => void} |
   * {search: {placeholder, entries: [{label, hint, value}], pick(value)}} |
   * {input: {label, value, apply(text)}} (Enter applies) | "-" (a separator).
   */
  open(x, y, items, { title } = {}) {
    this.close();
    const menu = el("div", { class: "ctx-menu", role: "menu" });
    if (title) menu.append(el("div", { class: "ctx-title", text: title }));
    for (const item of items) {
      if (item === "-") menu.append(el("div", { class: "ctx-sep" }));
      else if (item.colors) menu.append(this.swatches(item.colors));
      else if (item.search) menu.append(this.searchBox(item.search));
      else if (item.input) menu.append(this.inputBox(item.input));
      else {
        const b = el("button", { type: "button", class: `ctx-item${item.danger ? " danger" : ""}${item.checked ? " checked" : ""}`, role: "menuitem", "data-action": item.id || "", text: item.label });
        b.addEventListener("click", () => { this.close(); item.action(); });
        menu.append(b);
      }
    }
    document.body.append(menu);
    // keep it on screen
    const r = menu.getBoundingClientRect();
    menu.style.left = `${Math.max(4, Math.min(x, window.innerWidth - r.width - 4))}px`;
    menu.style.top = `${Math.max(4, Math.min(y, window.innerHeight - r.height - 4))}px`;
    this.el = menu;
    menu.querySelector("input")?.focus();
    return menu;
  }

  swatches(pick) {
    const row = el("div", { class: "ctx-colors", "data-action": "color" });
    const none = el("button", { type: "button", class: "swatch none", title: "no colour", "data-color": "" });
    none.addEventListener("click", () => { this.close(); pick(null); });
    row.append(none);
    for (const [name, hex] of COLORS) {
      const b = el("button", { type: "button", class: "swatch", title: name, "data-color": hex });
      b.style.background = hex;
      b.addEventListener("click", () => { this.close(); pick(hex); });
      row.append(b);
    }
    return row;
  }

  inputBox({ label, value, apply }) {
    const input = el("input", { type: "text", class: "ctx-input", "aria-label": label, placeholder: label, spellcheck: "false" });
    input.value = value || "";
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter") { this.close(); apply(input.value.trim()); }
    });
    queueMicrotask(() => input.select());
    return el("label", { class: "ctx-field" }, el("span", { text: label }), input);
  }

  searchBox({ placeholder, entries, pick }) {
    const wrap = el("div", { class: "ctx-search" });
    const input = el("input", { type: "search", placeholder, "aria-label": placeholder, spellcheck: "false" });
    const list = el("div", { class: "ctx-list" });
    const show = () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      list.replaceChildren();
      for (const entry of entries) {
        const text = `${entry.label} ${entry.hint || ""}`.toLowerCase();
        if (!words.every((w) => text.includes(w))) continue;
        const b = el("button", { type: "button", class: "ctx-item", "data-value": entry.value }, el("span", { text: entry.label }), el("span", { class: "hint", text: entry.hint || "" }));
        b.addEventListener("click", () => { this.close(); pick(entry.value); });
        list.append(b);
        if (list.children.length >= 60) break;
      }
      if (!list.children.length) list.append(el("div", { class: "ctx-empty", text: "nothing matches" }));
    };
    input.addEventListener("input", show);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        const first = list.querySelector("button");
        if (first) first.click();
      }
      e.stopPropagation(); // typing here is not a canvas shortcut
    });
    show();
    wrap.append(input, list);
    return wrap;
  }
}
