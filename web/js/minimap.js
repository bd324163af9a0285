// The minimap: the whole graph in the canvas's corner with the view's rectangle. The graph is
// drawn into a cached bitmap when it changes; a pan or zoom only redraws the rectangle on top.
// Click or drag on it to move the view there.

import { drawOverview } from "./overview.js";
import { el } from "./widgets.js";

const SIZE = [220, 150];
const PAD = 200; // world px around the graph
/** Where the minimap sits in the canvas (px from its bottom-left corner): Fit keeps nodes out of it. */
export const MINIMAP_CORNER = { left: 10, bottom: 10, width: SIZE[0], height: SIZE[1] };

export class Minimap {
  constructor(view) {
    this.view = view;
    this.canvas = el("canvas", { class: "minimap hidden", width: SIZE[0], height: SIZE[1], title: "minimap: click or drag to move the view" });
    this.cache = document.createElement("canvas");
    this.cache.width = SIZE[0];
    this.cache.height = SIZE[1];
    this.map = null; // world -> minimap: {x, y, scale}
    this.frame = 0;
    const c = MINIMAP_CORNER;
    Object.assign(this.canvas.style, { left: `${c.left}px`, bottom: `${c.bottom}px`, width: `${c.width}px`, height: `${c.height}px` });
    view.root.append(this.canvas);
    view.graph.onChange(() => this.request());
    view.root.addEventListener("graph-drawn", () => this.request());
    view.root.addEventListener("view-change", () => this.drawView());
    this.canvas.addEventListener("pointerdown", (e) => this.down(e));
  }

  request() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.redraw(); });
  }

  redraw() {
    const v = this.view;
    const rects = [...v.graph.nodes.keys()].map((id) => v.nodeRect(id));
    for (const g of v.graph.groups) rects.push(g.bounds);
    this.canvas.classList.toggle("hidden", rects.length === 0);
    if (!rects.length) { this.map = null; return; }
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [x, y, w, h] of rects) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + h); }
    x0 -= PAD; y0 -= PAD; x1 += PAD; y1 += PAD;
    const scale = Math.min(SIZE[0] / (x1 - x0), SIZE[1] / (y1 - y0));
    this.map = { scale, x: (SIZE[0] - (x1 - x0) * scale) / 2 - x0 * scale, y: (SIZE[1] - (y1 - y0) * scale) / 2 - y0 * scale };
    const ctx = this.cache.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, SIZE[0], SIZE[1]);
    drawOverview(ctx, v, this.map, [x0, y0, x1, y1], { detail: false });
    this.drawView();
  }

  /** The cached graph plus the view's rectangle: constant work per pan or zoom. */
  drawView() {
    if (!this.map) return;
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, SIZE[0], SIZE[1]);
    ctx.drawImage(this.cache, 0, 0);
    const [vx0, vy0, vx1, vy1] = this.view.visibleWorld();
    const { x, y, scale } = this.map;
    ctx.strokeStyle = "#5aa9ff";
    ctx.lineWidth = 1.5;
    ctx.fillStyle = "#5aa9ff18";
    const r = [x + vx0 * scale, y + vy0 * scale, (vx1 - vx0) * scale, (vy1 - vy0) * scale];
    ctx.fillRect(...r);
    ctx.strokeRect(...r);
  }

  /** Centre the view on the world point under a minimap point. */
  centreAt(e) {
    if (!this.map) return;
    const r = this.canvas.getBoundingClientRect();
    const wx = (e.clientX - r.left - this.map.x) / this.map.scale;
    const wy = (e.clientY - r.top - this.map.y) / this.map.scale;
    const root = this.view.root.getBoundingClientRect();
    const s = this.view.view.scale;
    this.view.setView({ scale: s, x: root.width / 2 - wx * s, y: root.height / 2 - wy * s });
  }

  down(e) {
    if (e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation();
    this.centreAt(e);
    this.view.startToolDrag({ move: (ev) => this.centreAt(ev), up: () => {} });
  }
}
