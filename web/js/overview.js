// Drawing the graph as simple shapes on a 2D canvas: the canvas's zoomed-out level of detail
// (below LOD_SCALE node text is unreadable, and thousands of DOM elements would cost every frame)
// and the minimap. Only what lies in the drawn rectangle is drawn.

export const LOD_SCALE = 0.5;

const STATUS_COLORS = { running: "#5aa9ff", done: "#5cc98a", cached: "#8fb9a0", error: "#ff5f6d", invalid: "#ff5f6d", interrupted: "#e6b450" };

/**
 * Draw `view` (the CanvasView) onto `ctx` with world->screen transform (x, y, scale), limited to
 * the world rectangle `area` [x0, y0, x1, y1]. `detail` draws titles and wires.
 */
export function drawOverview(ctx, view, { x, y, scale }, area, { detail = true, dpr = 1 } = {}) {
  const graph = view.graph;
  const [ax0, ay0, ax1, ay1] = area;
  const inArea = (rx, ry, rw, rh) => rx < ax1 && ry < ay1 && rx + rw > ax0 && ry + rh > ay0;
  ctx.setTransform(scale * dpr, 0, 0, scale * dpr, x * dpr, y * dpr);
  const px = 1 / scale; // one screen pixel in world units

  for (const g of graph.groups) {
    const [gx, gy, gw, gh] = g.bounds;
    if (!inArea(gx, gy, gw, gh)) continue;
    ctx.fillStyle = hexAlpha(g.color || "#5a6b8c", 0.22);
    ctx.fillRect(gx, gy, gw, gh);
    ctx.fillStyle = hexAlpha(g.color || "#5a6b8c", 0.55);
    ctx.fillRect(gx, gy, gw, Math.min(gh, 34));
    if (detail && scale * 20 >= 5) {
      ctx.fillStyle = "#e8ecf5";
      ctx.font = "600 20px system-ui, sans-serif";
      ctx.fillText(g.title || "Group", gx + 10, gy + 24, gw - 20);
    }
  }

  if (detail) {
    ctx.lineWidth = Math.max(2, 1.5 * px);
    for (const link of graph.links()) {
      const a = view.socketPos(link.from, "out", link.output);
      const b = view.socketPos(link.to, "in", link.input);
      if (!a || !b) continue;
      const pts = [a, ...graph.reroutes(link.to, link.input), b];
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (const [qx, qy] of pts) { minX = Math.min(minX, qx); maxX = Math.max(maxX, qx); minY = Math.min(minY, qy); maxY = Math.max(maxY, qy); }
      if (!inArea(minX - 200, minY, maxX - minX + 400, maxY - minY)) continue;
      ctx.strokeStyle = graph.catalogue.color(graph.outputType(link.from, link.output));
      ctx.beginPath();
      ctx.moveTo(pts[0][0], pts[0][1]);
      for (let i = 1; i < pts.length; i += 1) {
        const [x1, y1] = pts[i - 1];
        const [x2, y2] = pts[i];
        const dx = Math.max(40, Math.abs(x2 - x1) * 0.5);
        ctx.bezierCurveTo(x1 + dx, y1, x2 - dx, y2, x2, y2);
      }
      ctx.stroke();
    }
  }

  const titles = detail && scale * 13 >= 3.5;
  if (titles) ctx.font = "600 13px system-ui, sans-serif";
  for (const [id, node] of graph.nodes) {
    const [nx, ny, nw, nh] = view.nodeRect(id);
    if (!inArea(nx, ny, nw, nh)) continue;
    const state = view.runState.get(id);
    ctx.globalAlpha = node.mode ? 0.5 : 1;
    ctx.fillStyle = "#232734";
    ctx.fillRect(nx, ny, nw, nh);
    ctx.fillStyle = node.mode === "bypass" ? "#4a3270" : (node.ui.color || "#2c3142");
    ctx.fillRect(nx, ny, nw, Math.min(nh, 30));
    const outline = view.selected.has(id) ? "#5aa9ff" : (state && STATUS_COLORS[state.status]) || null;
    if (outline) {
      ctx.strokeStyle = outline;
      ctx.lineWidth = 3 * px;
      ctx.strokeRect(nx, ny, nw, nh);
    }
    if (titles) {
      ctx.fillStyle = "#d8dce6";
      ctx.fillText(node.ui.title || node.type, nx + 10, ny + 20, nw - 20);
    }
    ctx.globalAlpha = 1;
  }
}

function hexAlpha(color, alpha) {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const n = parseInt(m[1], 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
