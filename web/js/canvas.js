// The canvas view. Nodes are absolutely positioned divs on one layer, wires are SVG paths on the
// same layer, and pan/zoom is one CSS transform of that layer. What the browser renders per frame
// is bounded by the view, not the graph:
//  - only nodes and wires near the view are displayed (the rest are display:none; a node's DOM is
//    built the first time it comes near the view, so opening a big workflow is quick);
//  - below LOD_SCALE, where text is unreadable anyway, the layer is hidden and the graph is drawn
//    as shapes on a 2D canvas (overview.js), only what is in view;
//  - dragging a node redraws only its wires; socket positions come from offsets cached per node;
//  - run-state updates (status, progress, previews) are applied once per animation frame.

import { isLink } from "./graph.js";
import { applyLook, applyRunState, buildNodeElement } from "./nodes.js";
import { MINIMAP_CORNER } from "./minimap.js";
import { LOD_SCALE, drawOverview } from "./overview.js";
import { el } from "./widgets.js";
import { WireLayer, linkKey } from "./wires.js";

export const MIN_SCALE = 0.1;
export const MAX_SCALE = 2.5;
const GRID = 24;
const CULL_MARGIN = 0.5; // nodes within half a view of the edges stay displayed
// Layout of a node before its DOM exists (style.css): header, body padding, row heights.
const EST = { width: 250, header: 28, pad: 6, row: 27, tall: 60, foot: 13 };

export class CanvasView {
  constructor(root, graph, { services = {}, toast = () => {}, onSelect = () => {} } = {}) {
    this.root = root;
    this.graph = graph;
    this.services = services;
    this.toast = toast;
    this.onSelect = onSelect;
    this.view = { x: 0, y: 0, scale: 1 };
    this.selected = new Set();
    this.selectedLink = null;
    this.runState = new Map(); // node id -> {status, value, max, error, images, text}
    this.dirtyState = new Set();
    this.frame = 0;
    this.drag = null;
    this.tools = []; // {press(e) -> bool}: groups, reroute points

    this.layer = el("div", { class: "layer" });
    this.back = el("div", { class: "layer-back" }); // groups and other frames, under the wires
    this.wires = new WireLayer({
      locate: (id, dir, name) => this.socketPos(id, dir, name),
      color: (link) => this.graph.catalogue.color(this.graph.outputType(link.from, link.output)),
      reroutes: (link) => this.graph.reroutes(link.to, link.input),
    });
    this.svg = this.wires.svg;
    this.layer.append(this.back, this.svg);
    this.lodCanvas = el("canvas", { class: "lod-canvas hidden" });
    this.lod = false;
    this.lodFrame = 0;
    this.cullArea = null;
    this.rubber = el("div", { class: "rubber hidden" });
    this.empty = el("div", { class: "empty-hint", text: "Drag a node from the palette, or drop a workflow (.json) or a nodegraph PNG here." });
    root.append(this.lodCanvas, this.layer, this.rubber, this.empty);

    this.nodeEls = new Map();
    this.offsets = new Map(); // node id -> {out: Map(name -> [dx, dy]), in: Map}
    this.estimates = new Map(); // node id -> [w, h] before its DOM exists
    this.sizes = new WeakMap();
    this.resizes = new ResizeObserver((entries) => this.onResize(entries));
    graph.onChange((kind, detail) => this.onGraph(kind, detail));
    root.addEventListener("pointerdown", (e) => this.pointerDown(e));
    root.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    root.addEventListener("dblclick", (e) => {
      if (this.isBackground(e.target)) this.root.dispatchEvent(new CustomEvent("canvas-dblclick", { detail: { x: e.clientX, y: e.clientY } }));
    });
    window.addEventListener("pointermove", (e) => this.pointerMove(e));
    window.addEventListener("pointerup", (e) => this.pointerUp(e));
    new ResizeObserver(() => { this.cullArea = null; this.updateVisibility(); }).observe(root);
    this.applyView();
  }

  isBackground(target) {
    return target === this.root || target === this.layer || target === this.svg || target === this.back || target === this.lodCanvas;
  }

  // ---- coordinates --------------------------------------------------------------------
  screenToWorld(cx, cy) {
    const r = this.root.getBoundingClientRect();
    return [(cx - r.left - this.view.x) / this.view.scale, (cy - r.top - this.view.y) / this.view.scale];
  }

  centerWorld() {
    const r = this.root.getBoundingClientRect();
    return this.screenToWorld(r.left + r.width / 2, r.top + r.height / 2);
  }

  /** The world rectangle in view: [x0, y0, x1, y1]. */
  visibleWorld() {
    const r = this.root.getBoundingClientRect();
    const { x, y, scale } = this.view;
    return [-x / scale, -y / scale, (r.width - x) / scale, (r.height - y) / scale];
  }

  applyView() {
    const { x, y, scale } = this.view;
    this.layer.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
    // The grid is the root's own background: no inherited property, so no style recalculation
    // of the nodes below it.
    let g = GRID * scale;
    while (g < 12) g *= 4; // zoomed out: a coarser grid rather than thousands of specks
    this.root.style.backgroundSize = `${g}px ${g}px`;
    this.root.style.backgroundPosition = `${x}px ${y}px`;
    this.root.dataset.scale = scale.toFixed(3);
    this.updateVisibility();
    this.root.dispatchEvent(new CustomEvent("view-change", { detail: { ...this.view } }));
  }

  // ---- what is rendered: level of detail and culling -----------------------------------
  /** Switch between DOM and overview rendering for the scale, then show what is near the view. */
  updateVisibility() {
    const lod = this.view.scale < LOD_SCALE;
    if (lod !== this.lod) {
      this.lod = lod;
      this.cullArea = null;
      this.layer.classList.toggle("hidden", lod);
      this.lodCanvas.classList.toggle("hidden", !lod);
      this.root.classList.toggle("lod", lod);
    }
    if (lod) return this.drawLod();
    const [x0, y0, x1, y1] = this.visibleWorld();
    const mx = (x1 - x0) * CULL_MARGIN, my = (y1 - y0) * CULL_MARGIN;
    const area = this.cullArea;
    // Still well inside the area culled last time, and that area not much bigger than needed
    // (after zooming in): nothing to do. Small pans and zooms cost no culling at all.
    if (area && x0 - mx / 2 >= area[0] && y0 - my / 2 >= area[1] && x1 + mx / 2 <= area[2] && y1 + my / 2 <= area[3]
        && area[2] - area[0] <= 4 * (x1 - x0)) return;
    this.cullArea = [x0 - mx, y0 - my, x1 + mx, y1 + my];
    this.cull();
  }

  /** Display the nodes and wires that meet the cull area; build the DOM of newcomers. */
  cull() {
    const built = [];
    for (const id of this.graph.nodes.keys()) {
      const near = this.isNear(id);
      const e = this.nodeEls.get(id);
      if (near && !e) { this.renderNode(id); built.push(id); }
      else if (e && near === e.classList.contains("culled")) {
        e.classList.toggle("culled", !near);
        if (near) built.push(id); // measured again now that it is laid out
      }
    }
    if (built.length) this.refreshWires(built);
    this.wires.cull(this.cullArea);
  }

  isNear(id) {
    const a = this.cullArea;
    if (!a || this.lod) return false;
    const [x, y, w, h] = this.nodeRect(id);
    return x < a[2] && y < a[3] && x + w > a[0] && y + h > a[1];
  }

  /** Re-measure the sockets of `ids` (all reads first, then the wire writes: one layout). */
  refreshWires(ids) {
    for (const id of ids) { this.offsets.delete(id); this.socketOffsets(id); }
    this.wires.updateNodes(ids);
  }

  drawLod() {
    const c = this.lodCanvas;
    const w = this.root.clientWidth, h = this.root.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const ctx = c.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, c.width, c.height);
    drawOverview(ctx, this, this.view, this.visibleWorld(), { dpr });
  }

  /** Redraw the overview on the next frame (graph edits, statuses) when it is showing. */
  requestLod() {
    if (this.lod && !this.lodFrame) this.lodFrame = requestAnimationFrame(() => { this.lodFrame = 0; if (this.lod) this.drawLod(); });
  }

  setView(view) {
    this.view = { ...view, scale: Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale)) };
    this.applyView();
  }

  zoomAt(cx, cy, factor) {
    const r = this.root.getBoundingClientRect();
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.view.scale * factor));
    const k = scale / this.view.scale;
    const px = cx - r.left;
    const py = cy - r.top;
    this.view.x = px - (px - this.view.x) * k;
    this.view.y = py - (py - this.view.y) * k;
    this.view.scale = scale;
    this.applyView();
  }

  resetZoom() {
    const r = this.root.getBoundingClientRect();
    this.zoomAt(r.left + r.width / 2, r.top + r.height / 2, 1 / this.view.scale);
  }

  /** A node's world rectangle [x, y, w, h] (its last laid-out size; a default before that). */
  nodeRect(id) {
    const node = this.graph.nodes.get(id);
    if (!node) return null;
    const e = this.nodeEls.get(id);
    let size = e && this.sizes.get(e);
    if (!size) {
      size = this.estimates.get(id);
      if (!size) this.estimates.set(id, (size = this.estimateSize(node)));
    }
    return [node.ui.pos[0], node.ui.pos[1], size[0], size[1]];
  }

  /** A node's size before its DOM exists, from its spec's rows. */
  estimateSize(node) {
    const spec = this.graph.catalogue.get(node.type);
    if (!spec) return [EST.width, EST.header + EST.pad + EST.foot + EST.row * Object.keys(node.inputs).length];
    let h = EST.header + EST.pad + EST.foot + EST.row * spec.outputs.length;
    for (const input of spec.inputs) h += isTall(input, node) ? EST.tall : EST.row;
    return [EST.width, h];
  }

  /** Fit the given world rectangles (nodes, groups) into view. */
  fitRects(rects, maxScale = 1.2) {
    if (!rects.length) {
      this.setView({ x: 0, y: 0, scale: 1 });
      return;
    }
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const [x, y, w, h] of rects) {
      minX = Math.min(minX, x); minY = Math.min(minY, y);
      maxX = Math.max(maxX, x + w); maxY = Math.max(maxY, y + h);
    }
    const r = this.root.getBoundingClientRect();
    const pad = 40;
    // The view centring [minX..maxX] x [minY..maxY] in the area [x0, y0, x1, y1] (canvas px).
    const fit = (x0, y0, x1, y1) => {
      const scale = Math.min(maxScale, Math.max(MIN_SCALE, Math.min((x1 - x0 - 2 * pad) / (maxX - minX), (y1 - y0 - 2 * pad) / (maxY - minY))));
      return { scale, x: x0 + (x1 - x0 - (maxX - minX) * scale) / 2 - minX * scale, y: y0 + (y1 - y0 - (maxY - minY) * scale) / 2 - minY * scale };
    };
    const whole = fit(0, 0, r.width, r.height);
    // The minimap covers the bottom-left corner: no node may end up under it.
    const corner = this.root.querySelector(":scope > .minimap") ? MINIMAP_CORNER : null;
    if (!corner) return this.setView(whole);
    const gap = 8;
    const right = corner.left + corner.width + gap, top = r.height - corner.bottom - corner.height - gap;
    const clear = (v) => rects.every(([x, y, w, h]) => x * v.scale + v.x >= right || (y + h) * v.scale + v.y <= top);
    // Slid within the margins at the same zoom: right, up, or both, least movement first.
    const slidRight = { ...whole, x: r.width - pad - maxX * whole.scale }, slidUp = { ...whole, y: pad - minY * whole.scale };
    const candidates = [whole, slidRight, slidUp, { ...slidRight, y: slidUp.y }]
      .filter((v) => v.x >= whole.x && v.y <= whole.y)
      .sort((a, b) => (a.x - whole.x) + (whole.y - a.y) - ((b.x - whole.x) + (whole.y - b.y)));
    const slid = candidates.find(clear);
    if (slid) return this.setView(slid);
    // Else beside the minimap or above it, whichever keeps the larger zoom.
    const beside = fit(right - pad / 2, 0, r.width, r.height), above = fit(0, 0, r.width, top + pad / 2);
    this.setView(beside.scale >= above.scale ? beside : above);
  }

  /** Fit every node (and group) into view, or reset when the canvas is empty. */
  fitView() {
    const rects = [...this.graph.nodes.keys()].map((id) => this.nodeRect(id));
    for (const g of this.graph.groups) rects.push(g.bounds);
    this.fitRects(rects);
  }

  /** Fit the selected nodes into view (everything when nothing is selected). */
  fitSelection() {
    const ids = [...this.selected].filter((id) => this.graph.nodes.has(id));
    if (!ids.length) return this.fitView();
    return this.fitRects(ids.map((id) => this.nodeRect(id)));
  }

  // ---- graph changes ------------------------------------------------------------------
  onGraph(kind, detail) {
    if (kind === "load") this.renderAll();
    else if (kind === "add") { this.renderNode(detail.id); this.syncWires(new Set([detail.id])); }
    else if (kind === "remove") {
      const e = this.nodeEls.get(detail.id);
      if (e) { this.resizes.unobserve(e); e.remove(); }
      this.nodeEls.delete(detail.id);
      this.offsets.delete(detail.id);
      this.selected.delete(detail.id);
      this.runState.delete(detail.id);
      this.syncWires(new Set());
    } else if (kind === "link" || kind === "unlink" || kind === "node") {
      const id = kind === "node" ? detail.id : detail.to;
      this.renderNode(id);
      this.syncWires(new Set([id]));
    } else if (kind === "move") {
      this.placeNode(detail.id);
      this.wires.updateNodes([detail.id]);
    } else if (kind === "look") {
      const node = this.graph.nodes.get(detail.id);
      const e = this.nodeEls.get(detail.id);
      if (node && e) applyLook(e, node);
    } else if (kind === "reroute") {
      this.wires.draw(this.wires.wires.get(linkKey(detail.to, detail.input)));
    }
    this.empty.classList.toggle("hidden", this.graph.nodes.size > 0);
    this.requestLod();
    this.root.dispatchEvent(new CustomEvent("graph-drawn", { detail: { kind, ...detail } }));
  }

  renderAll() {
    for (const e of this.nodeEls.values()) e.remove();
    this.resizes.disconnect();
    this.nodeEls.clear();
    this.offsets.clear();
    this.estimates.clear();
    for (const id of [...this.selected]) if (!this.graph.nodes.has(id)) this.selected.delete(id);
    const frag = document.createDocumentFragment();
    const built = [];
    for (const id of this.graph.nodes.keys()) if (this.isNear(id)) { this.renderNode(id, frag); built.push(id); }
    this.layer.append(frag);
    for (const id of built) this.socketOffsets(id); // one layout, before the wires are written
    this.syncWires(null);
    this.wires.cull(this.cullArea);
    this.empty.classList.toggle("hidden", this.graph.nodes.size > 0);
    this.requestLod();
    this.root.dispatchEvent(new CustomEvent("graph-drawn", { detail: { kind: "load" } }));
  }

  syncWires(dirty) {
    this.wires.sync(this.graph.links(), dirty);
  }

  placeNode(id) {
    const node = this.graph.nodes.get(id);
    const e = this.nodeEls.get(id);
    if (!node || !e) return;
    e.style.left = `${node.ui.pos[0]}px`;
    e.style.top = `${node.ui.pos[1]}px`;
  }

  /** (Re)build a node's DOM; a node away from the view just drops it (rebuilt when it comes near). */
  renderNode(id, parent = this.layer) {
    const node = this.graph.nodes.get(id);
    if (!node) return;
    const old = this.nodeEls.get(id);
    this.offsets.delete(id);
    this.estimates.delete(id);
    if (!this.isNear(id)) {
      if (old) { this.resizes.unobserve(old); old.remove(); this.nodeEls.delete(id); }
      return;
    }
    const box = buildNodeElement(node, this.graph.catalogue, {
      services: this.services,
      literal: (name) => this.graph.literal(id, name),
      onLiteral: (name, v) => this.graph.setLiteral(id, name, v),
      swept: (name) => this.graph.sweptValues(id, name),
      onSweep: (name, values) => this.graph.setSweep(id, name, values),
    });
    if (old) { this.resizes.unobserve(old); old.replaceWith(box); } else parent.append(box);
    this.nodeEls.set(id, box);
    this.resizes.observe(box);
    if (this.selected.has(id)) box.classList.add("selected");
    this.placeNode(id);
    if (this.runState.has(id)) applyRunState(box, this.runState.get(id), () => this.nodeResized(id));
  }

  onResize(entries) {
    const moved = [];
    for (const entry of entries) {
      const box = entry.target;
      const size = [box.offsetWidth, box.offsetHeight];
      if (!size[0]) continue; // culled (display: none): it keeps its last size
      const before = this.sizes.get(box);
      this.sizes.set(box, size);
      if (!before || (before[0] === size[0] && before[1] === size[1])) continue;
      moved.push(box.dataset.nodeId);
    }
    for (const id of moved) this.offsets.delete(id);
    if (moved.length) this.wires.updateNodes(moved);
  }

  nodeResized(id) {
    this.offsets.delete(id);
    this.wires.updateNodes([id]);
  }

  // ---- run state (status, progress, errors, previews), applied once per frame ------------
  setRunState(id, patch) {
    this.runState.set(id, { ...(this.runState.get(id) || {}), ...patch });
    this.markDirty(id);
  }

  clearRunState({ keepOutputs = true } = {}) {
    for (const [id, s] of this.runState) {
      this.runState.set(id, keepOutputs ? { images: s.images, text: s.text } : {});
      this.markDirty(id);
    }
  }

  markDirty(id) {
    this.dirtyState.add(id);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flushRunState());
  }

  flushRunState() {
    this.frame = 0;
    const ids = [...this.dirtyState];
    this.dirtyState.clear();
    for (const id of ids) {
      const box = this.nodeEls.get(id);
      if (box) applyRunState(box, this.runState.get(id) || {}, () => this.nodeResized(id));
    }
    if (this.lod) this.drawLod();
  }

  // ---- selection -----------------------------------------------------------------------
  select(ids, { add = false } = {}) {
    const next = add ? new Set(this.selected) : new Set();
    for (const id of ids) next.add(id);
    this.setSelection(next);
    this.selectLink(null);
  }

  toggle(id) {
    const next = new Set(this.selected);
    if (next.has(id)) next.delete(id); else next.add(id);
    this.setSelection(next);
  }

  /** Change the selection, touching only the nodes whose state changes. */
  setSelection(next) {
    for (const id of this.selected) if (!next.has(id)) this.nodeEls.get(id)?.classList.remove("selected");
    for (const id of next) if (!this.selected.has(id)) this.nodeEls.get(id)?.classList.add("selected");
    this.selected = next;
    this.requestLod();
    this.onSelect([...next]);
  }

  refreshSelection() {
    for (const [id, e] of this.nodeEls) e.classList.toggle("selected", this.selected.has(id));
    this.onSelect([...this.selected]);
  }

  selectLink(link) {
    this.selectedLink = link;
    this.wires.select(link ? linkKey(link.to, link.input) : null);
  }

  // ---- sockets -------------------------------------------------------------------------
  /** World position of a socket's centre: node position + the socket's offset in the node. */
  socketPos(id, dir, name) {
    const node = this.graph.nodes.get(id);
    if (!node) return null;
    const d = this.socketOffsets(id)[dir].get(name);
    return d ? [node.ui.pos[0] + d[0], node.ui.pos[1] + d[1]] : null;
  }

  socketOffsets(id) {
    let off = this.offsets.get(id);
    if (!off) {
      off = this.measureSockets(id) || this.estimateSockets(id);
      this.offsets.set(id, off);
    }
    return off;
  }

  /** Where a node's sockets will be once its DOM is built (see EST). */
  estimateSockets(id) {
    const node = this.graph.nodes.get(id);
    const spec = this.graph.catalogue.get(node.type);
    const off = { in: new Map(), out: new Map() };
    let y = EST.header + EST.pad;
    for (const out of spec ? spec.outputs : []) { off.out.set(out.name, [EST.width - 1, y + EST.row / 2]); y += EST.row; }
    const inputs = spec ? spec.inputs : Object.keys(node.inputs).map((name) => ({ name }));
    for (const input of inputs) {
      const tall = isTall(input, node);
      off.in.set(input.name, [-1, y + (tall ? 20 : EST.row / 2)]);
      y += tall ? EST.tall : EST.row;
    }
    return off;
  }

  /** Socket centres measured in the node's DOM, or null when it has none. */
  measureSockets(id) {
    const box = this.nodeEls.get(id);
    if (!box || box.classList.contains("culled")) return null;
    const off = { in: new Map(), out: new Map() };
    for (const s of box.querySelectorAll(".socket")) {
      // offsetLeft/Top are layout positions, untouched by the layer's transform.
      let x = s.offsetWidth / 2, y = s.offsetHeight / 2;
      for (let e = s; e && e !== box; e = e.offsetParent) { x += e.offsetLeft; y += e.offsetTop; }
      if (s.classList.contains("out")) off.out.set(s.dataset.output, [x, y]);
      else off.in.set(s.dataset.input, [x, y]);
    }
    return off;
  }

  // ---- pointer handling ----------------------------------------------------------------
  pointerDown(e) {
    if (e.target.closest(".widget, input, textarea, select, button, .node-output pre, .ctx-menu, .minimap")) return;
    if (e.button === 0 && this.startTool(e)) return;
    const socket = e.target.closest(".socket");
    const nodeEl = e.target.closest(".node");
    const hit = e.target.closest("path.wire-hit");
    const lodNode = this.lod && e.target === this.lodCanvas ? this.nodeAt(e.clientX, e.clientY) : null;
    if (e.button === 1 || (e.button === 0 && !socket && !nodeEl && !hit && !lodNode && !e.shiftKey && !e.ctrlKey && !e.metaKey && this.isPannable(e.target))) {
      e.preventDefault();
      if (e.button === 0) { this.select([]); }
      this.drag = { kind: "pan", sx: e.clientX, sy: e.clientY, vx: this.view.x, vy: this.view.y, moved: false };
      this.root.classList.add("panning");
      return;
    }
    if (e.button !== 0) return;
    if (lodNode) {
      e.preventDefault();
      if (e.shiftKey || e.ctrlKey || e.metaKey) this.toggle(lodNode);
      else if (!this.selected.has(lodNode)) this.select([lodNode]);
      this.startMove(e, [...this.selected]);
      return;
    }
    e.preventDefault();
    if (socket && nodeEl) return this.startWire(e, socket, nodeEl.dataset.nodeId);
    if (hit) {
      this.select([]);
      this.selectLink({ to: hit.dataset.to, input: hit.dataset.input });
      return;
    }
    if (nodeEl) {
      const id = nodeEl.dataset.nodeId;
      if (e.shiftKey || e.ctrlKey || e.metaKey) this.toggle(id);
      else if (!this.selected.has(id)) this.select([id]);
      this.selectLink(null);
      this.startMove(e, [...this.selected]);
      nodeEl.focus({ preventScroll: true });
      return;
    }
    // shift/ctrl drag on the background: box selection
    const [wx, wy] = this.screenToWorld(e.clientX, e.clientY);
    this.drag = { kind: "box", sx: e.clientX, sy: e.clientY, wx, wy, add: true, base: new Set(this.selected) };
  }

  /** The topmost node under a screen point, by its rectangle (for the overview). */
  nodeAt(cx, cy) {
    const [wx, wy] = this.screenToWorld(cx, cy);
    const ids = [...this.graph.nodes.keys()];
    for (let i = ids.length - 1; i >= 0; i -= 1) {
      const [x, y, w, h] = this.nodeRect(ids[i]);
      if (wx >= x && wx <= x + w && wy >= y && wy <= y + h) return ids[i];
    }
    return null;
  }

  /** Where a plain left-drag pans: the background (tools such as groups claim their own elements). */
  isPannable(target) {
    return this.isBackground(target);
  }

  /** Tools on the layer (groups, reroute points) get the press first: true when one took it. */
  startTool(e) {
    return this.tools.some((tool) => tool.press(e));
  }

  /** Let a tool drive the pointer until release: {move(e), up(e)}. */
  startToolDrag(handlers) {
    this.drag = { kind: "tool", ...handlers };
  }

  /** Start moving nodes (and anything `extra` carries along, e.g. a group frame). */
  startMove(e, ids, extra = null) {
    const nodes = ids.filter((n) => this.graph.nodes.has(n));
    this.drag = {
      kind: "move", sx: e.clientX, sy: e.clientY, moved: false, extra,
      start: new Map(nodes.map((n) => [n, [...this.graph.nodes.get(n).ui.pos]])),
    };
  }

  startWire(e, socket, nodeId) {
    const isOut = socket.classList.contains("out");
    let drag;
    if (isOut) {
      drag = { kind: "wire", fromOutput: true, node: nodeId, socket: socket.dataset.output, type: socket.dataset.socketType };
    } else {
      const input = socket.dataset.input;
      const current = this.graph.nodes.get(nodeId).inputs[input];
      if (isLink(current)) {
        // Pick the wire up by its input end: it now hangs from its source.
        this.graph.disconnect(nodeId, input);
        drag = { kind: "wire", fromOutput: true, node: current.from, socket: current.output,
                 type: this.graph.outputType(current.from, current.output), detachedFrom: { to: nodeId, input, link: current } };
      } else {
        drag = { kind: "wire", fromOutput: false, node: nodeId, socket: input, type: socket.dataset.socketType };
      }
    }
    drag.start = drag.fromOutput ? this.socketPos(drag.node, "out", drag.socket) : this.socketPos(drag.node, "in", drag.socket);
    drag.end = this.screenToWorld(e.clientX, e.clientY);
    this.drag = drag;
    this.root.classList.add("wiring");
    this.markCandidates(true);
    this.drawPending();
  }

  drawPending() {
    const d = this.drag;
    if (!d || d.kind !== "wire") return this.wires.showPending(null);
    const [a, b] = d.fromOutput ? [d.start, d.end] : [d.end, d.start];
    this.wires.showPending(a, b, this.graph.catalogue.color(d.type));
  }

  /** While a wire is dragged, show which sockets accept it and which refuse it. */
  markCandidates(on) {
    const d = this.drag;
    for (const s of this.layer.querySelectorAll(".socket.compatible, .socket.incompatible")) s.classList.remove("compatible", "incompatible");
    if (!on) return;
    const want = d.fromOutput ? "in" : "out";
    for (const [nid, box] of this.nodeEls) {
      if (box.classList.contains("culled")) continue; // out of reach anyway; marked when next built
      for (const s of box.querySelectorAll(`.socket.${want}`)) {
        const ok = d.fromOutput ? !this.graph.linkProblem(d.node, d.socket, nid, s.dataset.input)
          : !this.graph.linkProblem(nid, s.dataset.output, d.node, d.socket);
        s.classList.add(ok ? "compatible" : "incompatible");
      }
    }
  }

  pointerMove(e) {
    const d = this.drag;
    if (!d) return;
    if (d.kind === "pan") {
      this.view.x = d.vx + (e.clientX - d.sx);
      this.view.y = d.vy + (e.clientY - d.sy);
      d.moved = true;
      this.applyView();
    } else if (d.kind === "move") {
      const dx = (e.clientX - d.sx) / this.view.scale;
      const dy = (e.clientY - d.sy) / this.view.scale;
      if (Math.abs(dx) + Math.abs(dy) > 1) d.moved = true;
      for (const [id, [x, y]] of d.start) {
        const node = this.graph.nodes.get(id);
        if (!node) continue;
        node.ui.pos = [Math.round(x + dx), Math.round(y + dy)];
        this.placeNode(id);
      }
      if (d.extra) d.extra.move(dx, dy);
      this.wires.updateNodes(d.start.keys());
      if (this.lod) this.drawLod();
    } else if (d.kind === "wire") {
      d.end = this.screenToWorld(e.clientX, e.clientY);
      const target = this.wireTarget(e.clientX, e.clientY);
      for (const s of this.layer.querySelectorAll(".socket.hover")) s.classList.remove("hover");
      if (target) target.socket.classList.add("hover");
      this.drawPending();
    } else if (d.kind === "box") {
      const x0 = Math.min(d.sx, e.clientX), y0 = Math.min(d.sy, e.clientY);
      const r = this.root.getBoundingClientRect();
      Object.assign(this.rubber.style, { left: `${x0 - r.left}px`, top: `${y0 - r.top}px`, width: `${Math.abs(e.clientX - d.sx)}px`, height: `${Math.abs(e.clientY - d.sy)}px` });
      this.rubber.classList.remove("hidden");
      const [ax, ay] = this.screenToWorld(Math.min(d.sx, e.clientX), Math.min(d.sy, e.clientY));
      const [bx, by] = this.screenToWorld(Math.max(d.sx, e.clientX), Math.max(d.sy, e.clientY));
      const next = new Set(d.base);
      for (const id of this.graph.nodes.keys()) {
        const [x, y, w, h] = this.nodeRect(id);
        if (x < bx && y < by && x + w > ax && y + h > ay) next.add(id);
      }
      this.setSelection(next);
    } else if (d.kind === "tool") {
      d.move(e);
    }
  }

  /** The socket a wire would attach to at a screen point: a socket, its row, or a node's first fitting socket. */
  wireTarget(cx, cy, d = this.drag) {
    const hitEl = document.elementFromPoint(cx, cy);
    if (!hitEl) return null;
    const nodeEl = hitEl.closest(".node");
    if (!nodeEl || !this.layer.contains(nodeEl)) return null;
    const id = nodeEl.dataset.nodeId;
    const want = d.fromOutput ? "in" : "out";
    let socket = hitEl.closest(`.socket.${want}`) || hitEl.closest(`.row.${want}`)?.querySelector(".socket");
    if (!socket) {
      // dropped on the node itself: the first free socket that fits
      const all = [...nodeEl.querySelectorAll(`.socket.${want}`)];
      socket = all.find((s) => s.classList.contains("compatible") && !(want === "in" && s.closest(".row").classList.contains("linked")))
        || all.find((s) => s.classList.contains("compatible"));
      if (!socket) return null;
    }
    return { id, socket };
  }

  pointerUp(e) {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    this.root.classList.remove("panning", "wiring");
    if (d.kind === "move") {
      if (d.moved) for (const id of d.start.keys()) this.graph.moveNode(id, this.graph.nodes.get(id).ui.pos);
      if (d.extra) d.extra.done(d.moved);
    } else if (d.kind === "box") {
      this.rubber.classList.add("hidden");
    } else if (d.kind === "tool") {
      d.up(e);
    } else if (d.kind === "wire") {
      for (const s of this.layer.querySelectorAll(".socket.hover")) s.classList.remove("hover");
      const target = this.wireTarget(e.clientX, e.clientY, d);
      this.drag = d;
      this.markCandidates(false);
      this.drag = null;
      this.wires.showPending(null);
      if (target) {
        let from, output, to, input;
        if (d.fromOutput) { [from, output, to, input] = [d.node, d.socket, target.id, target.socket.dataset.input]; }
        else { [from, output, to, input] = [target.id, target.socket.dataset.output, d.node, d.socket]; }
        const problem = this.graph.connect(from, output, to, input);
        if (problem) {
          this.refuse(target.socket, problem);
          if (d.detachedFrom) this.graph.connect(d.detachedFrom.link.from, d.detachedFrom.link.output, d.detachedFrom.to, d.detachedFrom.input);
        }
      }
    }
  }

  /** Show visibly that a wire was refused: the socket flashes red and a toast says why. */
  refuse(socket, reason) {
    const row = socket.closest(".row");
    for (const t of [socket, row]) {
      if (!t) continue;
      t.classList.remove("refused");
      void t.offsetWidth; // restart the animation
      t.classList.add("refused");
      setTimeout(() => t.classList.remove("refused"), 1500);
    }
    this.root.dataset.lastRefusal = reason;
    this.toast(`Refused: ${reason}`, "error");
  }

  wheel(e) {
    if (e.target.closest("textarea, select, .node-output pre, .ctx-menu") && !e.ctrlKey) return;
    e.preventDefault();
    const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
    this.zoomAt(e.clientX, e.clientY, factor);
  }

  /** Place a new node of `type` with its top-left under a screen point. */
  dropNode(type, cx, cy) {
    const [x, y] = this.screenToWorld(cx, cy);
    const node = this.graph.addNode(type, [x - 20, y - 14]);
    this.select([node.id]);
    return node.id;
  }

  isInside(cx, cy) {
    const r = this.root.getBoundingClientRect();
    return cx >= r.left && cx <= r.right && cy >= r.top && cy <= r.bottom;
  }
}

function isTall(input, node) {
  if (isLink(node.inputs[input.name])) return false;
  return (input.widget === "string" && input.multiline) || input.widget === "json";
}
