// The editing tools: context menus on the background, nodes, wires, groups and reroute points,
// and the actions behind them (also bound to keys in main.js): duplicate, delete, bypass/mute,
// colour, rename, groups, reroute points, insert a node into a wire, fit selection.

import { GroupLayer } from "./groups.js";
import { ContextMenu } from "./menu.js";
import { Minimap } from "./minimap.js";
import { RerouteTool } from "./reroutes.js";

export class Editor {
  constructor(view, { toast = () => {} } = {}) {
    this.view = view;
    this.graph = view.graph;
    this.toast = toast;
    this.menu = new ContextMenu();
    this.groups = new GroupLayer(view);
    this.reroutes = new RerouteTool(view);
    this.minimap = new Minimap(view);
    view.root.addEventListener("contextmenu", (e) => this.contextMenu(e));
  }

  selection() {
    return [...this.view.selected].filter((id) => this.graph.nodes.has(id));
  }

  // ---- actions -------------------------------------------------------------------------
  deleteSelection() {
    if (this.view.selectedLink) {
      this.graph.disconnect(this.view.selectedLink.to, this.view.selectedLink.input);
      this.view.selectLink(null);
      return;
    }
    for (const id of this.selection()) this.graph.removeNode(id);
    this.view.select([]);
  }

  duplicateSelection() {
    const ids = this.selection();
    if (ids.length) this.view.select(this.graph.duplicate(ids));
  }

  /** Bypass or mute the selection; when every selected node already has that mode, back to normal. */
  toggleMode(mode) {
    const ids = this.selection();
    if (!ids.length) return;
    const all = ids.every((id) => this.graph.nodes.get(id).mode === mode);
    for (const id of ids) this.graph.setMode(id, all ? undefined : mode);
  }

  colorSelection(color) {
    for (const id of this.selection()) this.graph.setLook(id, { color: color || "" });
  }

  groupSelection(at = null) {
    const group = this.groups.addAround(this.selection(), at);
    this.toast(`Group “${group.title}” added`);
    return group;
  }

  /** Put a new node of `type` into the wire to.input: from -> new node -> to. */
  insertNode(type, link, [x, y]) {
    const spec = this.graph.catalogue.get(type);
    const srcType = this.graph.outputType(link.from, link.output);
    const dstType = this.graph.inputType(link.to, link.input);
    const input = spec.inputs.find((i) => this.graph.catalogue.compatible(srcType, i.type));
    const output = spec.outputs.find((o) => this.graph.catalogue.compatible(o.type, dstType));
    const node = this.graph.addNode(type, [x - 120, y - 40]);
    this.graph.disconnect(link.to, link.input);
    const problems = [this.graph.connect(link.from, link.output, node.id, input.name), this.graph.connect(node.id, output.name, link.to, link.input)].filter(Boolean);
    if (problems.length) this.toast(`Inserted with problems: ${problems.join("; ")}`, "error");
    this.view.select([node.id]);
    return node.id;
  }

  /** Node types that can sit in a wire of these types: an input that takes it, an output that feeds on. */
  insertable(link) {
    const cat = this.graph.catalogue;
    const srcType = this.graph.outputType(link.from, link.output);
    const dstType = this.graph.inputType(link.to, link.input);
    return [...cat.nodes.values()].filter((spec) =>
      spec.inputs.some((i) => cat.compatible(srcType, i.type)) && spec.outputs.some((o) => cat.compatible(o.type, dstType)));
  }

  // ---- the context menu ------------------------------------------------------------------
  contextMenu(e) {
    if (e.target.closest("input, textarea, select, .minimap")) return;
    e.preventDefault();
    const v = this.view;
    const at = v.screenToWorld(e.clientX, e.clientY);
    const dot = e.target.closest("circle.reroute");
    const nodeEl = e.target.closest(".node");
    const nodeId = nodeEl ? nodeEl.dataset.nodeId : (v.lod && e.target === v.lodCanvas ? v.nodeAt(e.clientX, e.clientY) : null);
    const hit = e.target.closest("path.wire-hit");
    if (dot) return this.rerouteMenu(e, dot.dataset);
    if (nodeId) return this.nodeMenu(e, nodeId);
    if (hit) return this.wireMenu(e, { from: hit.dataset.from, output: hit.dataset.output, to: hit.dataset.to, input: hit.dataset.input }, at);
    const group = this.groups.groupUnder(e.clientX, e.clientY);
    return this.backgroundMenu(e, at, group);
  }

  nodeMenu(e, id) {
    const v = this.view;
    if (!v.selected.has(id)) v.select([id]);
    const node = this.graph.nodes.get(id);
    const n = v.selected.size;
    const many = n > 1 ? ` (${n})` : "";
    this.menu.open(e.clientX, e.clientY, [
      { input: { label: "Title", value: node.ui.title || node.type, apply: (t) => this.graph.setLook(id, { title: t === node.type ? "" : t }) } },
      { id: "duplicate", label: `Duplicate${many}   Ctrl+D`, action: () => this.duplicateSelection() },
      { id: "bypass", label: `Bypass${many}   Ctrl+B`, checked: node.mode === "bypass", action: () => this.toggleMode("bypass") },
      { id: "mute", label: `Mute${many}   Ctrl+M`, checked: node.mode === "mute", action: () => this.toggleMode("mute") },
      { colors: (c) => this.colorSelection(c) },
      { id: "group", label: `Group${many}   Ctrl+G`, action: () => this.groupSelection() },
      { id: "fit-selection", label: "Fit selection   F", action: () => v.fitSelection() },
      "-",
      { id: "delete", label: `Delete${many}   Del`, danger: true, action: () => this.deleteSelection() },
    ], { title: `#${id} ${node.type}` });
  }

  wireMenu(e, link, at) {
    this.view.select([]);
    this.view.selectLink(link);
    const entries = this.insertable(link).map((spec) => ({ label: spec.type, hint: spec.category, value: spec.type }));
    this.menu.open(e.clientX, e.clientY, [
      { search: { placeholder: "Insert node…", entries, pick: (type) => this.insertNode(type, link, at) } },
      { id: "reroute", label: "Add reroute point here", action: () => this.reroutes.add(link.to, link.input, at) },
      "-",
      { id: "delete-wire", label: "Delete wire", danger: true, action: () => { this.graph.disconnect(link.to, link.input); this.view.selectLink(null); } },
    ], { title: `#${link.from}.${link.output} → #${link.to}.${link.input}` });
  }

  rerouteMenu(e, { to, input, index }) {
    this.menu.open(e.clientX, e.clientY, [
      { id: "remove-reroute", label: "Remove reroute point", action: () => this.reroutes.remove(to, input, Number(index)) },
      { id: "remove-reroutes", label: "Straighten the wire (remove all its points)", action: () => this.graph.setReroutes(to, input, []) },
    ]);
  }

  backgroundMenu(e, at, group) {
    const v = this.view;
    const entries = [...this.graph.catalogue.nodes.values()].sort((a, b) => a.type.localeCompare(b.type))
      .map((spec) => ({ label: spec.type, hint: spec.category, value: spec.type }));
    const items = [
      { search: { placeholder: "Add node…", entries, pick: (type) => { const n = this.graph.addNode(type, at); v.select([n.id]); } } },
    ];
    if (group) {
      items.push("-",
        { input: { label: "Group title", value: group.title, apply: (t) => this.graph.updateGroup(group, { title: t || "Group" }) } },
        { colors: (c) => this.graph.updateGroup(group, { color: c }) },
        { id: "select-group", label: "Select its nodes", action: () => v.select(this.groups.nodesInside(group)) },
        { id: "fit-group", label: "Fit group", action: () => v.fitRects([group.bounds]) },
        { id: "remove-group", label: "Remove group (keep its nodes)", danger: true, action: () => this.graph.removeGroup(group) });
    } else {
      items.push({ id: "add-group", label: this.selection().length ? "Group selection   Ctrl+G" : "Add group here", action: () => this.groupSelection(at) });
    }
    items.push("-",
      { id: "fit-selection", label: "Fit selection   F", action: () => v.fitSelection() },
      { id: "fit-all", label: "Fit all", action: () => v.fitView() });
    this.menu.open(e.clientX, e.clientY, items, { title: group ? `Group “${group.title}”` : null });
  }
}
