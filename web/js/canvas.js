// The canvas view: nodes as absolutely positioned divs in a transformed layer, wires as SVG
// paths. Pan (drag the background / middle button), zoom (wheel), select (click, shift-click,
// shift-drag a box), move, and wire outputs to inputs with type checking.

import { isLink } from "./graph.js";
import { createWidget, el } from "./widgets.js";

const SVG = "http://www.w3.org/2000/svg";
const MIN_SCALE = 0.2;
const MAX_SCALE = 2.5;
const WIRE_SPAN = 50000;

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
    this.drag = null;

    this.layer = el("div", { class: "layer" });
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.classList.add("wires");
    // The SVG spans a large area around the origin (so its paths can be hit-tested anywhere);
    // its group shifts world coordinates into it.
    this.wireGroup = document.createElementNS(SVG, "g");
    this.wireGroup.setAttribute("transform", `translate(${WIRE_SPAN} ${WIRE_SPAN})`);
    this.svg.append(this.wireGroup);
    this.layer.append(this.svg);
    this.rubber = el("div", { class: "rubber hidden" });
    this.empty = el("div", { class: "empty-hint", text: "Drag a node from the palette, or drop a workflow (.json) or a nodegraph PNG here." });
    root.append(this.layer, this.rubber, this.empty);

    this.nodeEls = new Map();
    graph.onChange((kind, detail) => this.onGraph(kind, detail));
    root.addEventListener("pointerdown", (e) => this.pointerDown(e));
    root.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    root.addEventListener("dblclick", (e) => {
      if (e.target === root || e.target === this.layer || e.target === this.svg) this.root.dispatchEvent(new CustomEvent("canvas-dblclick", { detail: { x: e.clientX, y: e.clientY } }));
    });
    window.addEventListener("pointermove", (e) => this.pointerMove(e));
    window.addEventListener("pointerup", (e) => this.pointerUp(e));
    window.addEventListener("resize", () => this.drawWires());
    this.applyView();
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

  applyView() {
    const { x, y, scale } = this.view;
    this.layer.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
    this.root.style.setProperty("--grid", `${24 * scale}px`);
    this.root.style.backgroundPosition = `${x}px ${y}px`;
    this.root.dataset.scale = scale.toFixed(3);
    this.root.dispatchEvent(new CustomEvent("view-change", { detail: { ...this.view } }));
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

  /** Fit every node into view (or reset when the canvas is empty). */
  fitView() {
    if (this.graph.nodes.size === 0) {
      this.view = { x: 0, y: 0, scale: 1 };
      this.applyView();
      return;
    }
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const [id, node] of this.graph.nodes) {
      const e = this.nodeEls.get(id);
      const w = e ? e.offsetWidth : 240;
      const h = e ? e.offsetHeight : 120;
      minX = Math.min(minX, node.ui.pos[0]); minY = Math.min(minY, node.ui.pos[1]);
      maxX = Math.max(maxX, node.ui.pos[0] + w); maxY = Math.max(maxY, node.ui.pos[1] + h);
    }
    const r = this.root.getBoundingClientRect();
    const pad = 40;
    const scale = Math.min(1.2, Math.max(MIN_SCALE, Math.min((r.width - 2 * pad) / (maxX - minX), (r.height - 2 * pad) / (maxY - minY))));
    this.view.scale = scale;
    this.view.x = (r.width - (maxX - minX) * scale) / 2 - minX * scale;
    this.view.y = (r.height - (maxY - minY) * scale) / 2 - minY * scale;
    this.applyView();
  }

  // ---- graph changes ------------------------------------------------------------------
  onGraph(kind, detail) {
    if (kind === "load") this.renderAll();
    else if (kind === "add") { this.renderNode(detail.id); this.drawWires(); }
    else if (kind === "remove") {
      const e = this.nodeEls.get(detail.id);
      if (e) e.remove();
      this.nodeEls.delete(detail.id);
      this.selected.delete(detail.id);
      this.runState.delete(detail.id);
      this.drawWires();
    } else if (kind === "link" || kind === "unlink") {
      this.renderNode(detail.to);
      this.drawWires();
    } else if (kind === "move") {
      this.placeNode(detail.id);
      this.drawWires();
    }
    this.empty.classList.toggle("hidden", this.graph.nodes.size > 0);
  }

  renderAll() {
    for (const e of this.nodeEls.values()) e.remove();
    this.nodeEls.clear();
    for (const id of [...this.selected]) if (!this.graph.nodes.has(id)) this.selected.delete(id);
    for (const id of this.graph.nodes.keys()) this.renderNode(id);
    this.drawWires();
    this.empty.classList.toggle("hidden", this.graph.nodes.size > 0);
  }

  placeNode(id) {
    const node = this.graph.nodes.get(id);
    const e = this.nodeEls.get(id);
    if (!node || !e) return;
    e.style.left = `${node.ui.pos[0]}px`;
    e.style.top = `${node.ui.pos[1]}px`;
  }

  renderNode(id) {
    const node = this.graph.nodes.get(id);
    if (!node) return;
    const spec = this.graph.catalogue.get(node.type);
    const cat = this.graph.catalogue;
    const box = el("div", { class: "node", "data-node-id": id, "data-node-type": node.type, tabindex: "-1" });
    if (!spec) box.classList.add("unknown");
    if (spec && spec.output_node) box.classList.add("output-node");
    if (spec && spec.category) box.dataset.category = spec.category;
    const header = el("div", { class: "node-header", title: spec ? spec.description || node.type : `${node.type} is not installed on the server` },
      el("span", { class: "node-title", text: node.type }),
      el("span", { class: "node-status" }),
      el("span", { class: "node-id", text: `#${id}` }));
    box.append(header);
    const body = el("div", { class: "node-body" });
    for (const out of spec ? spec.outputs : []) {
      body.append(el("div", { class: "row out", "data-output": out.name, "data-socket-type": out.type },
        el("span", { class: "label", text: out.name }),
        el("span", { class: "type-tag", text: out.type }),
        this.socket("out", out.name, out.type, cat.color(out.type))));
    }
    const inputs = spec ? spec.inputs : Object.keys(node.inputs).map((name) => ({ name, type: "*", widget: isLink(node.inputs[name]) ? null : "json" }));
    for (const input of inputs) {
      const value = node.inputs[input.name];
      const linked = isLink(value);
      const row = el("div", { class: `row in${linked ? " linked" : ""}${input.required ? " required" : ""}`, "data-input": input.name, "data-socket-type": input.type, title: input.description || "" },
        this.socket("in", input.name, input.type, cat.color(input.type)),
        el("span", { class: "label", text: input.name }));
      if (input.widget && !linked) {
        const widget = createWidget(input, this.graph.literal(id, input.name), (v) => this.graph.setLiteral(id, input.name, v), this.services);
        widget.classList.add("widget");
        row.append(widget);
        if (input.widget === "string" && input.multiline) row.classList.add("tall");
        if (input.widget === "json") row.classList.add("tall");
      } else {
        row.append(el("span", { class: "type-tag", text: linked ? `← #${value.from}.${value.output}` : input.type }));
      }
      body.append(row);
    }
    box.append(body);
    box.append(el("div", { class: "node-progress" }, el("div", { class: "bar" })));
    box.append(el("div", { class: "node-error hidden" }));
    box.append(el("div", { class: "node-output hidden" }));
    const old = this.nodeEls.get(id);
    if (old) old.replaceWith(box); else this.layer.append(box);
    this.nodeEls.set(id, box);
    box.classList.toggle("selected", this.selected.has(id));
    this.placeNode(id);
    this.applyRunState(id);
  }

  socket(dir, name, type, color) {
    const attrs = { class: `socket ${dir}`, "data-socket-type": type, title: type };
    attrs[dir === "out" ? "data-output" : "data-input"] = name;
    const s = el("span", attrs);
    s.style.setProperty("--c", color);
    return s;
  }

  // ---- run state (status, progress, errors, previews) ---------------------------------
  setRunState(id, patch) {
    const state = { ...(this.runState.get(id) || {}), ...patch };
    this.runState.set(id, state);
    this.applyRunState(id);
  }

  clearRunState({ keepOutputs = true } = {}) {
    for (const [id, s] of this.runState) {
      const kept = keepOutputs ? { images: s.images, text: s.text } : {};
      this.runState.set(id, kept);
      this.applyRunState(id);
    }
  }

  applyRunState(id) {
    const box = this.nodeEls.get(id);
    if (!box) return;
    const s = this.runState.get(id) || {};
    box.dataset.status = s.status || "";
    box.querySelector(".node-status").textContent = s.status ? statusLabel(s) : "";
    const bar = box.querySelector(".node-progress");
    const frac = s.max ? Math.max(0, Math.min(1, s.value / s.max)) : 0;
    bar.classList.toggle("active", s.status === "running" && !!s.max);
    bar.querySelector(".bar").style.width = `${(frac * 100).toFixed(1)}%`;
    bar.dataset.value = s.value ?? "";
    bar.dataset.max = s.max ?? "";
    const err = box.querySelector(".node-error");
    err.classList.toggle("hidden", !s.error);
    err.textContent = s.error || "";
    for (const row of box.querySelectorAll(".row.in")) {
      row.classList.toggle("input-error", !!(s.errorInputs && s.errorInputs.includes(row.dataset.input)));
    }
    const out = box.querySelector(".node-output");
    const images = s.images || [];
    out.classList.toggle("hidden", images.length === 0 && !s.text);
    const existing = [...out.querySelectorAll("img")].map((i) => i.getAttribute("src"));
    if (existing.join("\n") !== images.join("\n") || (out.querySelector("pre")?.textContent ?? "") !== (s.text || "")) {
      out.replaceChildren();
      for (const src of images) {
        const img = el("img", { class: "preview", src, alt: "output preview", draggable: "false" });
        img.addEventListener("load", () => this.drawWires());
        out.append(img);
      }
      if (s.text) out.append(el("pre", { class: "text-preview", text: s.text }));
    }
  }

  // ---- selection -----------------------------------------------------------------------
  select(ids, { add = false } = {}) {
    if (!add) this.selected.clear();
    for (const id of ids) this.selected.add(id);
    this.selectLink(null);
    this.refreshSelection();
  }

  toggle(id) {
    if (this.selected.has(id)) this.selected.delete(id); else this.selected.add(id);
    this.refreshSelection();
  }

  refreshSelection() {
    for (const [id, e] of this.nodeEls) e.classList.toggle("selected", this.selected.has(id));
    this.onSelect([...this.selected]);
  }

  selectLink(link) {
    this.selectedLink = link;
    for (const p of this.svg.querySelectorAll("path.wire")) {
      p.classList.toggle("selected", !!link && p.dataset.to === link.to && p.dataset.input === link.input);
    }
  }

  // ---- wires ---------------------------------------------------------------------------
  socketPos(id, dir, name) {
    const box = this.nodeEls.get(id);
    if (!box) return null;
    const s = box.querySelector(`.socket.${dir}[data-${dir === "out" ? "output" : "input"}="${CSS.escape(name)}"]`);
    if (!s) return null;
    const r = s.getBoundingClientRect();
    return this.screenToWorld(r.left + r.width / 2, r.top + r.height / 2);
  }

  drawWires() {
    const paths = [];
    for (const link of this.graph.links()) {
      const a = this.socketPos(link.from, "out", link.output);
      const b = this.socketPos(link.to, "in", link.input);
      if (!a || !b) continue;
      const type = this.graph.outputType(link.from, link.output);
      const d = curve(a, b);
      const hit = document.createElementNS(SVG, "path");
      hit.setAttribute("d", d);
      hit.classList.add("wire-hit");
      const p = document.createElementNS(SVG, "path");
      p.setAttribute("d", d);
      p.classList.add("wire");
      p.style.stroke = this.graph.catalogue.color(type);
      for (const [k, v] of Object.entries({ from: link.from, output: link.output, to: link.to, input: link.input })) {
        p.dataset[k] = v;
        hit.dataset[k] = v;
      }
      if (this.selectedLink && this.selectedLink.to === link.to && this.selectedLink.input === link.input) p.classList.add("selected");
      paths.push(hit, p);
    }
    if (this.drag && this.drag.kind === "wire" && this.drag.end) {
      const p = document.createElementNS(SVG, "path");
      const [a, b] = this.drag.fromOutput ? [this.drag.start, this.drag.end] : [this.drag.end, this.drag.start];
      p.setAttribute("d", curve(a, b));
      p.classList.add("wire", "pending");
      p.style.stroke = this.graph.catalogue.color(this.drag.type);
      paths.push(p);
    }
    this.wireGroup.replaceChildren(...paths);
  }

  // ---- pointer handling ----------------------------------------------------------------
  pointerDown(e) {
    if (e.target.closest(".widget, input, textarea, select, button, .node-output pre")) return;
    const socket = e.target.closest(".socket");
    const nodeEl = e.target.closest(".node");
    const hit = e.target.closest("path.wire-hit");
    if (e.button === 1 || (e.button === 0 && !socket && !nodeEl && !hit && !e.shiftKey && !e.ctrlKey && !e.metaKey)) {
      e.preventDefault();
      if (e.button === 0) { this.select([]); }
      this.drag = { kind: "pan", sx: e.clientX, sy: e.clientY, vx: this.view.x, vy: this.view.y, moved: false };
      this.root.classList.add("panning");
      return;
    }
    if (e.button !== 0) return;
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
      const ids = [...this.selected].filter((n) => this.graph.nodes.has(n));
      this.drag = {
        kind: "move", sx: e.clientX, sy: e.clientY, moved: false,
        start: new Map(ids.map((n) => [n, [...this.graph.nodes.get(n).ui.pos]])),
      };
      nodeEl.focus({ preventScroll: true });
      return;
    }
    // shift/ctrl drag on the background: box selection
    const [wx, wy] = this.screenToWorld(e.clientX, e.clientY);
    this.drag = { kind: "box", sx: e.clientX, sy: e.clientY, wx, wy, add: true, base: new Set(this.selected) };
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
    this.drawWires();
  }

  /** While a wire is dragged, show which sockets accept it and which refuse it. */
  markCandidates(on) {
    const d = this.drag;
    for (const s of this.layer.querySelectorAll(".socket")) {
      s.classList.remove("compatible", "incompatible");
      if (!on) continue;
      const nid = s.closest(".node").dataset.nodeId;
      if (d.fromOutput && s.classList.contains("in")) {
        const ok = !this.graph.linkProblem(d.node, d.socket, nid, s.dataset.input);
        s.classList.add(ok ? "compatible" : "incompatible");
      } else if (!d.fromOutput && s.classList.contains("out")) {
        const ok = !this.graph.linkProblem(nid, s.dataset.output, d.node, d.socket);
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
      this.drawWires();
    } else if (d.kind === "wire") {
      d.end = this.screenToWorld(e.clientX, e.clientY);
      const target = this.wireTarget(e.clientX, e.clientY);
      for (const s of this.layer.querySelectorAll(".socket.hover")) s.classList.remove("hover");
      if (target) target.socket.classList.add("hover");
      this.drawWires();
    } else if (d.kind === "box") {
      const x0 = Math.min(d.sx, e.clientX), y0 = Math.min(d.sy, e.clientY);
      const r = this.root.getBoundingClientRect();
      Object.assign(this.rubber.style, { left: `${x0 - r.left}px`, top: `${y0 - r.top}px`, width: `${Math.abs(e.clientX - d.sx)}px`, height: `${Math.abs(e.clientY - d.sy)}px` });
      this.rubber.classList.remove("hidden");
      const [ax, ay] = this.screenToWorld(Math.min(d.sx, e.clientX), Math.min(d.sy, e.clientY));
      const [bx, by] = this.screenToWorld(Math.max(d.sx, e.clientX), Math.max(d.sy, e.clientY));
      this.selected = new Set(d.base);
      for (const [id, node] of this.graph.nodes) {
        const box = this.nodeEls.get(id);
        const [x, y] = node.ui.pos;
        if (x < bx && y < by && x + box.offsetWidth > ax && y + box.offsetHeight > ay) this.selected.add(id);
      }
      this.refreshSelection();
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
    } else if (d.kind === "box") {
      this.rubber.classList.add("hidden");
    } else if (d.kind === "wire") {
      for (const s of this.layer.querySelectorAll(".socket.hover")) s.classList.remove("hover");
      const target = this.wireTarget(e.clientX, e.clientY, d);
      this.drag = d;
      this.markCandidates(false);
      this.drag = null;
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
      this.drawWires();
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
    if (e.target.closest("textarea, select, .node-output pre") && !e.ctrlKey) return;
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

function curve([x1, y1], [x2, y2]) {
  const dx = Math.max(40, Math.abs(x2 - x1) * 0.5);
  return `M ${x1} ${y1} C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`;
}

function statusLabel(s) {
  if (s.status === "running") return s.max ? `${Math.round((100 * s.value) / s.max)}%` : "running";
  return s.status;
}
