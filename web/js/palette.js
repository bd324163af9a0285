// The node palette: categories from the catalogue, a search box, and drag-to-canvas.

import { el } from "./widgets.js";

export class Palette {
  constructor(root, { onDrop, onAdd }) {
    this.root = root;
    this.onDrop = onDrop; // (type, clientX, clientY) -> bool (true when it landed on the canvas)
    this.onAdd = onAdd; // (type) -> add at the canvas centre
    this.search = el("input", { type: "search", class: "palette-search", placeholder: "Search nodes…  ( / )", "aria-label": "search nodes", spellcheck: "false" });
    this.list = el("div", { class: "palette-list" });
    root.append(this.search, this.list);
    this.search.addEventListener("input", () => this.filter());
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        const first = this.list.querySelector(".palette-item:not(.hidden)");
        if (first) this.onAdd(first.dataset.nodeType);
      } else if (e.key === "Escape") {
        this.search.value = "";
        this.filter();
        this.search.blur();
      }
    });
    this.drag = null;
    window.addEventListener("pointermove", (e) => this.move(e));
    window.addEventListener("pointerup", (e) => this.up(e));
  }

  render(catalogue) {
    this.list.replaceChildren();
    for (const [category, specs] of catalogue.categories()) {
      const group = el("details", { class: "palette-group", open: true, "data-category": category });
      group.append(el("summary", { text: category }, el("span", { class: "count", text: String(specs.length) })));
      for (const spec of specs) {
        const item = el("div", { class: "palette-item", "data-node-type": spec.type, title: spec.description || spec.type },
          el("span", { class: "name", text: spec.type }),
          el("span", { class: "dots" }, ...spec.outputs.map((o) => {
            const dot = el("span", { class: "dot", title: o.type });
            dot.style.background = catalogue.color(o.type);
            return dot;
          })));
        item.dataset.search = `${spec.type} ${category} ${spec.description || ""} ${spec.inputs.map((i) => i.type).join(" ")} ${spec.outputs.map((o) => o.type).join(" ")}`.toLowerCase();
        item.addEventListener("pointerdown", (e) => this.down(e, spec.type));
        item.addEventListener("dblclick", () => this.onAdd(spec.type));
        group.append(item);
      }
      this.list.append(group);
    }
    this.filter();
  }

  filter() {
    const words = this.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const group of this.list.querySelectorAll(".palette-group")) {
      let shown = 0;
      for (const item of group.querySelectorAll(".palette-item")) {
        const hit = words.every((w) => item.dataset.search.includes(w));
        item.classList.toggle("hidden", !hit);
        if (hit) shown += 1;
      }
      group.classList.toggle("hidden", shown === 0);
      if (words.length && shown) group.open = true;
    }
  }

  focusSearch() {
    this.search.focus();
    this.search.select();
  }

  down(e, type) {
    if (e.button !== 0) return;
    e.preventDefault();
    this.drag = { type, sx: e.clientX, sy: e.clientY, ghost: null };
  }

  move(e) {
    const d = this.drag;
    if (!d) return;
    if (!d.ghost && Math.hypot(e.clientX - d.sx, e.clientY - d.sy) > 4) {
      d.ghost = el("div", { class: "drag-ghost", text: d.type });
      document.body.append(d.ghost);
      document.body.classList.add("dragging-node");
    }
    if (d.ghost) {
      d.ghost.style.left = `${e.clientX + 8}px`;
      d.ghost.style.top = `${e.clientY + 8}px`;
    }
  }

  up(e) {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    document.body.classList.remove("dragging-node");
    if (d.ghost) {
      d.ghost.remove();
      this.onDrop(d.type, e.clientX, e.clientY);
    }
  }
}
