// Wire reroute points: drag a point to move it; the context menu adds and removes them.
// Points belong to the wire's input end (graph.reroutes(to, input)), in world coordinates.

export class RerouteTool {
  constructor(view) {
    this.view = view;
    this.graph = view.graph;
    view.tools.push({ press: (e) => this.press(e) });
  }

  press(e) {
    const dot = e.target.closest && e.target.closest("circle.reroute");
    if (!dot) return false;
    e.preventDefault();
    const { to, input } = dot.dataset;
    const index = Number(dot.dataset.index);
    const node = this.graph.nodes.get(to);
    const start = [...this.graph.reroutes(to, input)[index]];
    const s = this.view.view.scale;
    this.view.startToolDrag({
      move: (ev) => {
        // live: edit the point in place and redraw this one wire; the graph hears on release
        node.ui.reroutes[input][index] = [start[0] + (ev.clientX - e.clientX) / s, start[1] + (ev.clientY - e.clientY) / s];
        this.view.onGraph("reroute", { to, input });
      },
      up: () => this.graph.setReroutes(to, input, this.graph.reroutes(to, input)),
    });
    return true;
  }

  /** Add a point at world (x, y) to the wire into to.input, in the segment it is nearest. */
  add(to, input, [x, y]) {
    const link = this.graph.nodes.get(to).inputs[input];
    const a = this.view.socketPos(link.from, "out", link.output);
    const b = this.view.socketPos(to, "in", input);
    const points = [...this.graph.reroutes(to, input)];
    const all = [a, ...points, b];
    let best = 0, cost = Infinity;
    for (let i = 0; i + 1 < all.length; i += 1) {
      const c = dist(all[i], [x, y]) + dist([x, y], all[i + 1]) - dist(all[i], all[i + 1]);
      if (c < cost) { cost = c; best = i; }
    }
    points.splice(best, 0, [x, y]);
    this.graph.setReroutes(to, input, points);
  }

  remove(to, input, index) {
    const points = [...this.graph.reroutes(to, input)];
    points.splice(index, 1);
    this.graph.setReroutes(to, input, points);
  }
}

function dist([x1, y1], [x2, y2]) {
  return Math.hypot(x2 - x1, y2 - y1);
}
