// The pure model of the canvas: node catalogue, type compatibility, nodes and links, and the
// workflow file (docs/workflow-format.md). No DOM here, so it can be reasoned about (and tested) on its own.

export const FORMAT = "nodegraph/workflow";
export const VERSION = 1;
export const ANY = "*";

/** True when a value in a workflow's inputs is a link ({"from", "output"}). */
export function isLink(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    typeof value.from === "string" && typeof value.output === "string" &&
    Object.keys(value).length === 2;
}

/** The node catalogue (the reply to `catalogue`, same as `nodegraph nodes --json`). */
export class Catalogue {
  constructor(data = { nodes: [], types: [] }) {
    this.nodes = new Map();
    for (const spec of data.nodes || []) this.nodes.set(spec.type, spec);
    this.types = new Map();
    for (const t of data.types || []) this.types.set(t.name, t);
  }

  get(type) { return this.nodes.get(type); }

  input(type, name) {
    const spec = this.nodes.get(type);
    return spec ? spec.inputs.find((i) => i.name === name) : undefined;
  }

  output(type, name) {
    const spec = this.nodes.get(type);
    return spec ? spec.outputs.find((o) => o.name === name) : undefined;
  }

  color(typeName) {
    const t = this.types.get(typeName);
    return (t && t.color) || "#9e9e9e";
  }

  ancestors(name) {
    const seen = new Set();
    const stack = [...((this.types.get(name) || {}).parents || [])];
    while (stack.length) {
      const p = stack.pop();
      if (seen.has(p)) continue;
      seen.add(p);
      stack.push(...((this.types.get(p) || {}).parents || []));
    }
    return seen;
  }

  /** Same rule as the engine: equal, either is "*", or the source's parents include the target. */
  compatible(source, target) {
    if (source === target || source === ANY || target === ANY) return true;
    return this.ancestors(source).has(target);
  }

  /** Categories in a stable order, each with its node specs sorted by type name. */
  categories() {
    const groups = new Map();
    for (const spec of this.nodes.values()) {
      const cat = spec.category || "other";
      if (!groups.has(cat)) groups.set(cat, []);
      groups.get(cat).push(spec);
    }
    for (const list of groups.values()) list.sort((a, b) => a.type.localeCompare(b.type));
    return [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  }
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/**
 * The graph being edited. A node is {id, type, inputs, ui}; `inputs` holds literals and links
 * exactly as the workflow file does (key order kept), so saving is a plain copy.
 */
export class Graph {
  constructor(catalogue = new Catalogue()) {
    this.catalogue = catalogue;
    this.nodes = new Map();
    this.extraUi = undefined; // the workflow's top-level "ui", kept as loaded (groups apart)
    this.groups = []; // [{title, bounds: [x, y, w, h], color}], saved as ui.groups
    this.sweep = { axes: [], zip: false, zipKey: false }; // the workflow's `sweep` (docs/sweeps.md)
    this.listeners = new Set();
  }

  onChange(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }
  emit(kind, detail = {}) { for (const fn of this.listeners) fn(kind, detail); }

  nextId() {
    let n = 1;
    for (const id of this.nodes.keys()) {
      const k = Number(id);
      if (Number.isInteger(k) && k >= n) n = k + 1;
    }
    while (this.nodes.has(String(n))) n += 1;
    return String(n);
  }

  /** Add a node of `type` at `pos`; widget inputs start at their defaults (written explicitly). */
  addNode(type, pos = [0, 0], { id, inputs } = {}) {
    const spec = this.catalogue.get(type);
    const nodeId = id ?? this.nextId();
    if (this.nodes.has(nodeId)) throw new Error(`node id ${nodeId} already exists`);
    const values = {};
    if (inputs) Object.assign(values, clone(inputs));
    else if (spec) {
      for (const input of spec.inputs) {
        if (input.widget && input.default !== undefined && input.default !== null) {
          values[input.name] = clone(input.default);
        }
      }
    }
    const node = { id: nodeId, type, inputs: values, ui: { pos: [Math.round(pos[0]), Math.round(pos[1])] }, stash: {} };
    this.nodes.set(nodeId, node);
    this.emit("add", { id: nodeId });
    return node;
  }

  removeNode(id) {
    if (!this.nodes.has(id)) return;
    this.sweep.axes = this.sweep.axes.filter((a) => a.node !== id);
    for (const link of this.links()) {
      if (link.from === id) this.disconnect(link.to, link.input);
    }
    this.nodes.delete(id);
    this.emit("remove", { id });
  }

  moveNode(id, pos) {
    const node = this.nodes.get(id);
    if (!node) return;
    node.ui = { ...node.ui, pos: [Math.round(pos[0]), Math.round(pos[1])] };
    this.emit("move", { id });
  }

  /** How the engine treats a node: undefined (runs), "bypass" (passes its input through) or "mute". */
  setMode(id, mode) {
    const node = this.nodes.get(id);
    if (!node) return;
    if (mode) node.mode = mode; else delete node.mode;
    this.emit("look", { id });
  }

  /** Canvas-only looks kept in the node's ui: a title (empty: the type) and a header colour. */
  setLook(id, { title, color } = {}) {
    const node = this.nodes.get(id);
    if (!node) return;
    const ui = { ...node.ui };
    if (title !== undefined) { if (title) ui.title = title; else delete ui.title; }
    if (color !== undefined) { if (color) ui.color = color; else delete ui.color; }
    node.ui = ui;
    this.emit("look", { id });
  }

  /** Reroute points of the wire into toId.input (world coordinates), kept in that node's ui. */
  reroutes(toId, input) {
    const node = this.nodes.get(toId);
    return (node && node.ui.reroutes && node.ui.reroutes[input]) || [];
  }

  setReroutes(toId, input, points) {
    const node = this.nodes.get(toId);
    if (!node) return;
    const all = { ...(node.ui.reroutes || {}) };
    if (points && points.length) all[input] = points.map(([x, y]) => [Math.round(x), Math.round(y)]);
    else delete all[input];
    node.ui = { ...node.ui };
    if (Object.keys(all).length) node.ui.reroutes = all; else delete node.ui.reroutes;
    this.emit("reroute", { to: toId, input });
  }

  // ---- groups: titled frames; moving one moves the nodes inside it -----------------------
  addGroup(bounds, title = "Group", color = undefined) {
    const group = { title, bounds: bounds.map(Math.round) };
    if (color) group.color = color;
    this.groups.push(group);
    this.emit("groups", {});
    return group;
  }

  updateGroup(group, patch) {
    Object.assign(group, patch);
    if (patch.bounds) group.bounds = patch.bounds.map(Math.round);
    if ("color" in patch && !patch.color) delete group.color;
    this.emit("groups", {});
  }

  removeGroup(group) {
    this.groups = this.groups.filter((g) => g !== group);
    this.emit("groups", {});
  }

  /** Every link as {from, output, to, input}. */
  links() {
    const out = [];
    for (const node of this.nodes.values()) {
      for (const [name, value] of Object.entries(node.inputs)) {
        if (isLink(value)) out.push({ from: value.from, output: value.output, to: node.id, input: name });
      }
    }
    return out;
  }

  /** The socket type of an input or output, or undefined for unknown nodes/sockets. */
  inputType(nodeId, name) {
    const node = this.nodes.get(nodeId);
    const spec = node && this.catalogue.input(node.type, name);
    return spec ? spec.type : undefined;
  }

  outputType(nodeId, name) {
    const node = this.nodes.get(nodeId);
    const spec = node && this.catalogue.output(node.type, name);
    return spec ? spec.type : undefined;
  }

  /** Why a link from (fromId.output) to (toId.input) is not allowed, or null if it is. */
  linkProblem(fromId, output, toId, input) {
    if (fromId === toId) return "a node cannot feed itself";
    const src = this.outputType(fromId, output);
    const dst = this.inputType(toId, input);
    if (src === undefined) return `unknown output ${output}`;
    if (dst === undefined) return `unknown input ${input}`;
    if (!this.catalogue.compatible(src, dst)) return `${src} cannot connect to ${dst}`;
    if (this.reaches(toId, fromId)) return "that link would make a cycle";
    return null;
  }

  /** True when `target` is downstream of `start` (following links forward). */
  reaches(start, target) {
    const forward = new Map();
    for (const l of this.links()) {
      if (!forward.has(l.from)) forward.set(l.from, []);
      forward.get(l.from).push(l.to);
    }
    const stack = [start];
    const seen = new Set();
    while (stack.length) {
      const id = stack.pop();
      if (id === target) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(forward.get(id) || []));
    }
    return false;
  }

  /** Connect; returns null on success or the reason it was refused. An input holds one link. */
  connect(fromId, output, toId, input) {
    const problem = this.linkProblem(fromId, output, toId, input);
    if (problem) return problem;
    const node = this.nodes.get(toId);
    const old = node.inputs[input];
    if (old !== undefined && !isLink(old)) node.stash[input] = old;
    node.inputs[input] = { from: fromId, output };
    this.emit("link", { to: toId, input });
    return null;
  }

  /** Remove the link into toId.input; the widget's earlier literal (if any) comes back. */
  disconnect(toId, input) {
    const node = this.nodes.get(toId);
    if (!node || !isLink(node.inputs[input])) return null;
    const link = { ...node.inputs[input], to: toId, input };
    if (node.ui.reroutes && node.ui.reroutes[input]) this.setReroutes(toId, input, []);
    if (node.stash[input] !== undefined) {
      node.inputs[input] = node.stash[input];
      delete node.stash[input];
    } else {
      delete node.inputs[input];
    }
    this.emit("unlink", link);
    return link;
  }

  setLiteral(id, name, value) {
    const node = this.nodes.get(id);
    if (!node) return;
    node.inputs[name] = value;
    this.emit("literal", { id, name });
  }

  // ---- sweeps: inputs that take a list of values, one per cell (docs/sweeps.md) -----------
  /** The values a swept input takes, or undefined when it is not swept. */
  sweptValues(id, name) {
    const axis = this.sweep.axes.find((a) => a.node === id && a.input === name);
    return axis ? axis.values : undefined;
  }

  /** Sweep `id.name` over `values` (a new axis goes last); null stops sweeping it. */
  setSweep(id, name, values) {
    const axes = this.sweep.axes;
    const i = axes.findIndex((a) => a.node === id && a.input === name);
    const toggled = (i < 0) !== !values;
    if (!values) { if (i >= 0) axes.splice(i, 1); } else if (i >= 0) axes[i] = { node: id, input: name, values: clone(values) };
    else axes.push({ node: id, input: name, values: clone(values) });
    // on or off changes the node's widget; new values only its text
    this.emit(toggled ? "node" : "sweep", { id, name });
  }

  setSweepZip(on) {
    this.sweep.zip = !!on;
    this.sweep.zipKey = true;
    this.emit("sweep", {});
  }

  /** The axes the engine gets: those of nodes on the canvas whose input is not linked. */
  sweepAxes() {
    return this.sweep.axes.filter((a) => a.values.length && this.nodes.has(a.node) && !isLink(this.nodes.get(a.node).inputs[a.input]));
  }

  /** The literal an input shows: its own value, else the schema default. */
  literal(id, name) {
    const node = this.nodes.get(id);
    if (!node) return undefined;
    const v = node.inputs[name];
    if (v !== undefined && !isLink(v)) return v;
    const spec = this.catalogue.input(node.type, name);
    return spec ? spec.default : undefined;
  }

  /** Copy the given nodes (links among them kept, links from outside kept too); new ids. */
  duplicate(ids, offset = [40, 40]) {
    const map = new Map();
    const created = [];
    for (const id of ids) {
      const node = this.nodes.get(id);
      if (!node) continue;
      const copy = this.addNode(node.type, [node.ui.pos[0] + offset[0], node.ui.pos[1] + offset[1]], { inputs: {} });
      copy.ui = { ...clone(node.ui), pos: copy.ui.pos };
      map.set(id, copy.id);
      created.push(copy);
    }
    for (const copy of created) {
      const original = this.nodes.get([...map].find(([, v]) => v === copy.id)[0]);
      for (const [name, value] of Object.entries(original.inputs)) {
        if (isLink(value)) {
          copy.inputs[name] = { from: map.get(value.from) ?? value.from, output: value.output };
        } else {
          copy.inputs[name] = clone(value);
        }
      }
      copy.stash = clone(original.stash) || {};
      if (original.mode) copy.mode = original.mode;
      if (copy.ui.reroutes) {
        for (const pts of Object.values(copy.ui.reroutes)) for (const p of pts) { p[0] += offset[0]; p[1] += offset[1]; }
      }
    }
    for (const copy of created) this.emit("node", { id: copy.id });
    return created.map((n) => n.id);
  }

  clear() {
    this.nodes.clear();
    this.extraUi = undefined;
    this.groups = [];
    this.sweep = { axes: [], zip: false, zipKey: false };
    this.emit("load", {});
  }

  /** The workflow file object (docs/workflow-format.md). */
  toWorkflow() {
    const nodes = {};
    for (const node of this.nodes.values()) {
      nodes[node.id] = { type: node.type, inputs: clone(node.inputs), ui: clone(node.ui) };
      if (node.mode) nodes[node.id].mode = node.mode;
    }
    const wf = { format: FORMAT, version: VERSION, nodes };
    const ui = { ...(this.extraUi || {}) };
    if (this.groups.length) ui.groups = clone(this.groups);
    if (Object.keys(ui).length) wf.ui = ui;
    const axes = this.sweepAxes();
    if (axes.length) {
      wf.sweep = { axes: clone(axes) };
      if (this.sweep.zip || this.sweep.zipKey) wf.sweep.zip = this.sweep.zip;
    }
    return wf;
  }

  /** Replace the graph with a workflow file object; throws Error with a readable message. */
  loadWorkflow(data) {
    if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error("a workflow is a JSON object");
    if (data.format !== FORMAT) throw new Error(`not a nodegraph workflow (format ${JSON.stringify(data.format)})`);
    if (data.version !== undefined && data.version !== VERSION) throw new Error(`unknown workflow version ${data.version}`);
    if (!data.nodes || typeof data.nodes !== "object") throw new Error("the workflow has no nodes object");
    this.nodes.clear();
    let auto = 0;
    for (const [id, entry] of Object.entries(data.nodes)) {
      if (!entry || typeof entry.type !== "string") throw new Error(`node ${id} has no type`);
      const ui = entry.ui && typeof entry.ui === "object" ? clone(entry.ui) : {};
      if (!Array.isArray(ui.pos) || ui.pos.length !== 2) {
        ui.pos = [40 + (auto % 4) * 300, 40 + Math.floor(auto / 4) * 260];
        auto += 1;
      }
      const node = { id, type: entry.type, inputs: clone(entry.inputs || {}), ui, stash: {} };
      if (entry.mode === "bypass" || entry.mode === "mute") node.mode = entry.mode;
      this.nodes.set(id, node);
    }
    const { groups, ...rest } = data.ui && typeof data.ui === "object" ? clone(data.ui) : {};
    this.groups = Array.isArray(groups) ? groups.filter((g) => g && Array.isArray(g.bounds) && g.bounds.length === 4) : [];
    this.extraUi = Object.keys(rest).length ? rest : undefined;
    const sweep = data.sweep && typeof data.sweep === "object" ? data.sweep : {};
    const axes = Array.isArray(sweep.axes) ? sweep.axes : [];
    this.sweep = {
      axes: axes.filter((a) => a && typeof a.node === "string" && typeof a.input === "string" && Array.isArray(a.values))
        .map((a) => ({ node: a.node, input: a.input, values: clone(a.values) })),
      zip: sweep.zip === true, zipKey: "zip" in sweep,
    };
    this.emit("load", {});
  }
}
