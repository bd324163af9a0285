// Node groups: titled frames under the nodes. Dragging a group's title moves the group and the
// nodes inside it; the corner handle resizes it. Groups live in graph.groups (saved as ui.groups).

import { el } from "./widgets.js";

const TITLE_HEIGHT = 34;
const MIN_SIZE = [120, 60];

export class GroupLayer {
  constructor(view) {
    this.view = view;
    this.graph = view.graph;
    this.els = new Map(); // group object -> element
    this.graph.onChange((kind) => { if (kind === "groups" || kind === "load") this.render(); });
    view.tools.push({ press: (e) => this.press(e) });
  }

  render() {
    const keep = new Set(this.graph.groups);
    for (const [g, e] of this.els) if (!keep.has(g)) { e.remove(); this.els.delete(g); }
    this.graph.groups.forEach((g, i) => {
      let e = this.els.get(g);
      if (!e) {
        e = el("div", { class: "node-group" },
          el("div", { class: "node-group-title" }, el("span", { class: "node-group-name" })),
          el("div", { class: "node-group-resize", title: "resize" }));
        this.els.set(g, e);
        this.view.back.append(e);
      }
      e.dataset.index = String(i);
      e.querySelector(".node-group-name").textContent = g.title || "Group";
      if (g.color) e.style.setProperty("--group-color", g.color); else e.style.removeProperty("--group-color");
      this.place(g, e);
    });
  }

  place(g, e = this.els.get(g)) {
    if (!e) return;
    const [x, y, w, h] = g.bounds;
    Object.assign(e.style, { left: `${x}px`, top: `${y}px`, width: `${w}px`, height: `${h}px` });
  }

  /** The group whose title bar is under a screen point (DOM target, or by rectangle on the overview). */
  groupAt(e) {
    const titleEl = e.target.closest && e.target.closest(".node-group-title, .node-group-resize");
    if (titleEl) return { group: this.graph.groups[Number(titleEl.closest(".node-group").dataset.index)], resize: titleEl.classList.contains("node-group-resize") };
    if (!this.view.lod || e.target !== this.view.lodCanvas || this.view.nodeAt(e.clientX, e.clientY)) return null;
    const [wx, wy] = this.view.screenToWorld(e.clientX, e.clientY);
    for (let i = this.graph.groups.length - 1; i >= 0; i -= 1) {
      const [x, y, w] = this.graph.groups[i].bounds;
      if (wx >= x && wx <= x + w && wy >= y && wy <= y + TITLE_HEIGHT) return { group: this.graph.groups[i], resize: false };
    }
    return null;
  }

  press(e) {
    const hit = this.groupAt(e);
    if (!hit || !hit.group) return false;
    e.preventDefault();
    const g = hit.group;
    const start = [...g.bounds];
    if (hit.resize) {
      const s = this.view.view.scale;
      this.view.startToolDrag({
        move: (ev) => {
          g.bounds = [start[0], start[1], Math.max(MIN_SIZE[0], start[2] + (ev.clientX - e.clientX) / s), Math.max(MIN_SIZE[1], start[3] + (ev.clientY - e.clientY) / s)];
          this.place(g);
          this.view.requestLod();
        },
        up: () => this.graph.updateGroup(g, { bounds: g.bounds }),
      });
      return true;
    }
    this.view.select(this.nodesInside(g));
    this.view.startMove(e, this.nodesInside(g), {
      move: (dx, dy) => { g.bounds = [start[0] + dx, start[1] + dy, start[2], start[3]]; this.place(g); },
      done: (moved) => { if (moved) this.graph.updateGroup(g, { bounds: g.bounds }); },
    });
    return true;
  }

  /** Nodes whose centre lies inside the group: they travel with it. */
  nodesInside(g) {
    const [x, y, w, h] = g.bounds;
    const ids = [];
    for (const id of this.graph.nodes.keys()) {
      const [nx, ny, nw, nh] = this.view.nodeRect(id);
      const cx = nx + nw / 2, cy = ny + nh / 2;
      if (cx >= x && cx <= x + w && cy >= y && cy <= y + h) ids.push(id);
    }
    return ids;
  }

  /** The group under a screen point anywhere in its frame (for the context menu). */
  groupUnder(cx, cy) {
    const [wx, wy] = this.view.screenToWorld(cx, cy);
    for (let i = this.graph.groups.length - 1; i >= 0; i -= 1) {
      const [x, y, w, h] = this.graph.groups[i].bounds;
      if (wx >= x && wx <= x + w && wy >= y && wy <= y + h) return this.graph.groups[i];
    }
    return null;
  }

  /** A new group framing the given nodes (or a default frame at a world point). */
  addAround(ids, at = null) {
    const pad = 30;
    if (!ids.length) {
      const [x, y] = at || this.view.centerWorld();
      return this.graph.addGroup([x, y, 400, 260]);
    }
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const id of ids) {
      const [x, y, w, h] = this.view.nodeRect(id);
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + h);
    }
    return this.graph.addGroup([x0 - pad, y0 - pad - TITLE_HEIGHT, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad + TITLE_HEIGHT]);
  }
}
