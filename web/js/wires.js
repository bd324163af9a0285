// The wires: one SVG path (plus a wide invisible hit path) per link, kept in a map so that a
// change touches only the wires of the nodes it concerns. Socket positions come from the canvas
// (node position + the socket's cached offset inside the node), so no layout is forced here.

const SVG = "http://www.w3.org/2000/svg";
export const WIRE_SPAN = 50000; // the SVG spans ±WIRE_SPAN world px around the origin

export const linkKey = (to, input) => `${to}\u0000${input}`;

export class WireLayer {
  /**
   * `locate(id, dir, name)` -> [x, y] world position of a socket, or null;
   * `color(link)` -> the wire's colour; `reroutes(link)` -> its points [[x, y], ...].
   */
  constructor({ locate, color, reroutes }) {
    this.locate = locate;
    this.color = color;
    this.reroutes = reroutes;
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.classList.add("wires");
    this.group = document.createElementNS(SVG, "g");
    this.group.setAttribute("transform", `translate(${WIRE_SPAN} ${WIRE_SPAN})`);
    this.svg.append(this.group);
    this.wires = new Map(); // linkKey -> {link, hit, path}
    this.byNode = new Map(); // node id -> Set of linkKeys touching it
    this.selected = null;
    this.pending = null;
  }

  /** Bring the wires in line with `links` (all of the graph's links): add, drop, redraw changed ones. */
  sync(links, dirtyNodes = null) {
    const seen = new Set();
    for (const link of links) {
      const key = linkKey(link.to, link.input);
      seen.add(key);
      const w = this.wires.get(key);
      if (w && w.link.from === link.from && w.link.output === link.output) {
        if (dirtyNodes === null || dirtyNodes.has(link.from) || dirtyNodes.has(link.to)) this.draw(w);
        continue;
      }
      if (w) this.drop(key);
      this.add(key, link);
    }
    for (const key of [...this.wires.keys()]) if (!seen.has(key)) this.drop(key);
  }

  /** Redraw only the wires into or out of the given nodes. */
  updateNodes(ids) {
    for (const id of ids) {
      for (const key of this.byNode.get(id) || []) this.draw(this.wires.get(key));
    }
  }

  add(key, link) {
    const hit = document.createElementNS(SVG, "path");
    hit.classList.add("wire-hit");
    const path = document.createElementNS(SVG, "path");
    path.classList.add("wire");
    for (const [k, v] of Object.entries(link)) {
      path.dataset[k] = v;
      hit.dataset[k] = v;
    }
    const w = { link: { ...link }, hit, path, dots: [] };
    this.wires.set(key, w);
    for (const id of [link.from, link.to]) {
      if (!this.byNode.has(id)) this.byNode.set(id, new Set());
      this.byNode.get(id).add(key);
    }
    this.draw(w);
    path.classList.toggle("selected", key === this.selected);
    this.group.append(hit, path);
  }

  drop(key) {
    const w = this.wires.get(key);
    if (!w) return;
    w.hit.remove();
    w.path.remove();
    for (const dot of w.dots) dot.remove();
    this.wires.delete(key);
    for (const id of [w.link.from, w.link.to]) {
      const set = this.byNode.get(id);
      if (set) { set.delete(key); if (!set.size) this.byNode.delete(id); }
    }
  }

  draw(w) {
    if (!w) return;
    const a = this.locate(w.link.from, "out", w.link.output);
    const b = this.locate(w.link.to, "in", w.link.input);
    w.ends = !!(a && b);
    if (!w.ends) return this.show(w);
    const points = this.reroutes(w.link);
    let x0 = Math.min(a[0], b[0]), y0 = Math.min(a[1], b[1]), x1 = Math.max(a[0], b[0]), y1 = Math.max(a[1], b[1]);
    for (const [px, py] of points) { x0 = Math.min(x0, px); y0 = Math.min(y0, py); x1 = Math.max(x1, px); y1 = Math.max(y1, py); }
    const dx = Math.max(40, (x1 - x0) * 0.5); // the curve's handles reach this far sideways
    w.bbox = [x0 - dx, y0, x1 + dx, y1];
    this.show(w);
    const d = curveThrough(a, points, b);
    w.path.setAttribute("d", d);
    w.hit.setAttribute("d", d);
    w.path.style.stroke = this.color(w.link);
    this.drawDots(w, points);
  }

  /** Reroute points as handles on the wire (dragged by the reroute tool). */
  drawDots(w, points) {
    while (w.dots.length > points.length) w.dots.pop().remove();
    while (w.dots.length < points.length) {
      const dot = document.createElementNS(SVG, "circle");
      dot.classList.add("reroute");
      dot.setAttribute("r", "6");
      dot.dataset.to = w.link.to;
      dot.dataset.input = w.link.input;
      dot.dataset.index = String(w.dots.length);
      dot.style.display = w.path.style.display;
      this.group.append(dot);
      w.dots.push(dot);
    }
    points.forEach(([x, y], i) => {
      w.dots[i].setAttribute("cx", x);
      w.dots[i].setAttribute("cy", y);
      w.dots[i].style.fill = this.color(w.link);
    });
  }

  /** Display only the wires whose bounds meet `area` [x0, y0, x1, y1] (null: all). */
  cull(area) {
    this.area = area;
    for (const w of this.wires.values()) this.show(w);
  }

  show(w) {
    const a = this.area;
    const on = w.ends && (!a || !w.bbox || (w.bbox[0] < a[2] && w.bbox[1] < a[3] && w.bbox[2] > a[0] && w.bbox[3] > a[1]));
    if (on === w.on) return;
    w.on = on;
    w.path.style.display = on ? "" : "none";
    w.hit.style.display = on ? "" : "none";
    for (const dot of w.dots) dot.style.display = on ? "" : "none";
  }

  select(key) {
    if (this.selected && this.wires.has(this.selected)) this.wires.get(this.selected).path.classList.remove("selected");
    this.selected = key;
    if (key && this.wires.has(key)) this.wires.get(key).path.classList.add("selected");
  }

  /** The wire being dragged out of a socket (a, b in world coordinates), or null to hide it. */
  showPending(a, b, color) {
    if (!a || !b) {
      if (this.pending) { this.pending.remove(); this.pending = null; }
      return;
    }
    if (!this.pending) {
      this.pending = document.createElementNS(SVG, "path");
      this.pending.classList.add("wire", "pending");
      this.group.append(this.pending);
    }
    this.pending.setAttribute("d", curveThrough(a, [], b));
    this.pending.style.stroke = color;
  }
}

/** A wire from a to b through reroute points: one horizontal-tangent cubic per segment. */
export function curveThrough(a, points, b) {
  const all = [a, ...(points || []), b];
  let d = `M ${all[0][0]} ${all[0][1]}`;
  for (let i = 1; i < all.length; i += 1) {
    const [x1, y1] = all[i - 1];
    const [x2, y2] = all[i];
    const dx = Math.max(40, Math.abs(x2 - x1) * 0.5);
    d += ` C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`;
  }
  return d;
}
