// Parameter sweeps on the canvas (docs/sweeps.md): the text of a swept input (a list or a range)
// read the way `nodegraph run --sweep` reads it, and the panel that shows a queued sweep's cells
// as they finish. Clicking a finished cell loads that cell's own workflow.

import { el } from "./widgets.js";
import { MEDIA_RE, mediaElement } from "./video.js";

const RANGE_MAX_VALUES = 1000; // as the engine: a typo in a range is an error, not a day of work
const LAST_SWEEP_KEY = "nodegraph.sweepJob"; // the sweep this canvas showed last: rebuilt after a reload
const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];

/**
 * The values a swept input's text stands for, typed by the input's widget; throws Error saying
 * what is wrong. `V1, V2, ...` (items trimmed), `FROM:TO:STEP` for int/float (both ends included),
 * or a JSON array (the only way for a json input, or for strings that hold commas).
 */
export function parseSweepText(spec, text) {
  const kind = spec.widget;
  const t = String(text).trim();
  if (!t) throw new Error("no values: type a list (0, 0.5, 1) or a range (0:1:0.25)");
  let values;
  if (t.startsWith("[")) {
    try { values = JSON.parse(t); } catch (err) { throw new Error(`not a JSON array: ${err.message}`); }
    if (!Array.isArray(values) || !values.length) throw new Error("a JSON array of values, at least one");
  } else if (kind === "json") {
    throw new Error("a swept json input takes a JSON array of values");
  } else if ((kind === "int" || kind === "float") && (t.match(/:/g) || []).length === 2 && !t.includes(",")) {
    values = range(kind, ...t.split(":"));
  } else {
    values = t.split(",").map((part) => part.trim());
    if (values.some((v) => v === "")) throw new Error("an empty value in the list");
  }
  return values.map((v) => typed(spec, v));
}

function number(kind, raw) {
  const s = String(raw).trim();
  if (kind === "int" && !/^[+-]?\d+$/.test(s)) throw new Error(`${JSON.stringify(s)} is not a whole number`);
  const v = Number(s);
  if (s === "" || !Number.isFinite(v)) throw new Error(`${JSON.stringify(s)} is not a number`);
  return v;
}

function range(kind, a, b, c) {
  const [start, stop, step] = [number(kind, a), number(kind, b), number(kind, c)];
  if (step === 0 || (stop - start) / step < 0) throw new Error(`step ${c.trim()} never goes from ${a.trim()} to ${b.trim()}`);
  const count = Math.floor((stop - start) / step + 1e-9) + 1;
  if (count > RANGE_MAX_VALUES) throw new Error(`the range has ${count} values (at most ${RANGE_MAX_VALUES})`);
  return Array.from({ length: count }, (_, i) => (kind === "int" ? start + i * step : Number((start + i * step).toFixed(10))));
}

function typed(spec, v) {
  const kind = spec.widget;
  if (kind === "int" || kind === "float") {
    const n = typeof v === "number" ? v : number(kind, v);
    if (kind === "int" && !Number.isInteger(n)) throw new Error(`${n} is not a whole number`);
    if (spec.minimum !== undefined && spec.minimum !== null && n < spec.minimum) throw new Error(`${n}: at least ${spec.minimum}`);
    if (spec.maximum !== undefined && spec.maximum !== null && n > spec.maximum) throw new Error(`${n}: at most ${spec.maximum}`);
    return n;
  }
  if (kind === "bool") {
    if (typeof v === "boolean") return v;
    const s = String(v).toLowerCase();
    if (TRUE.includes(s)) return true;
    if (FALSE.includes(s)) return false;
    throw new Error(`${JSON.stringify(v)} is not a boolean (true/false)`);
  }
  if (kind === "enum") {
    const hit = (spec.options || []).find((o) => String(o) === String(v));
    if (hit === undefined) throw new Error(`${JSON.stringify(v)} is not one of ${(spec.options || []).join(", ")}`);
    return hit;
  }
  if (kind === "json") return v;
  return String(v);
}

/** The text a swept input shows for its values; parseSweepText reads it back to the same values. */
export function sweepText(spec, values) {
  if (spec.widget === "json" || values.some((v) => typeof v === "string" && (v.includes(",") || v !== v.trim() || v.startsWith("[")))) {
    return JSON.stringify(values);
  }
  return values.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(", ");
}

/** The cells of a sweep in the engine's order: crossed (the last axis fastest) or zipped. */
export function sweepCells(axes, zip) {
  if (!axes.length) return [];
  if (zip) {
    const n = Math.min(...axes.map((a) => a.values.length));
    return Array.from({ length: n }, (_, i) => axes.map((a) => a.values[i]));
  }
  let combos = [[]];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => [...c, v]));
  return combos;
}

const show = (v) => (typeof v === "string" ? v : JSON.stringify(v));
const shortName = (name) => name.slice(name.lastIndexOf(".") + 1);

/**
 * The sweep panel (top of the right-hand panel): what the canvas will sweep (inputs, cells, zip)
 * and, once a sweep is queued, its cells in a grid — rows and columns labelled with the swept
 * values for two crossed axes, one labelled tile per cell otherwise — filled in as `cell` events
 * arrive, with "k / N cells". A finished cell's tile loads that cell's workflow when clicked.
 * `show` rebuilds the grid of any sweep job (the history's "Grid") from the server's record of
 * the job and the sweep's index, and keeps filling it while the job runs; after a page reload,
 * `restore` shows the sweep shown last.
 */
export class SweepPanel {
  constructor(root, graph, api, { onOpenCell, onFollowJob } = {}) {
    this.graph = graph;
    this.api = api;
    this.onOpenCell = onOpenCell;
    this.onFollowJob = onFollowJob; // (job id): the canvas subscribes to a running job's events
    this.job = null;
    this.cells = []; // [{values, label, urls, workflow, done}]
    this.setup = el("div", { class: "sweep-setup" });
    this.results = el("div", { class: "sweep-results" });
    this.root = el("section", { class: "sweep-panel hidden", "aria-label": "sweep" },
      el("h2", { text: "Sweep" }), this.setup, this.results);
    root.prepend(this.root);
    graph.onChange(() => this.renderSetup());
    this.renderSetup();
  }

  /** What queueing would sweep: the swept inputs, the number of cells, the zip switch. */
  renderSetup() {
    const axes = this.graph.sweepAxes();
    this.root.classList.toggle("hidden", !axes.length && !this.job);
    if (!axes.length) { this.setup.replaceChildren(); return; }
    const zip = this.graph.sweep.zip;
    const lengths = axes.map((a) => a.values.length);
    const total = zip ? (new Set(lengths).size === 1 ? lengths[0] : null) : lengths.reduce((p, n) => p * n, 1);
    const box = el("input", { type: "checkbox", class: "sweep-zip", title: "pair the values (the first together, then the second, …) instead of trying every combination" });
    box.checked = zip;
    box.disabled = axes.length < 2;
    box.addEventListener("change", () => this.graph.setSweepZip(box.checked));
    this.setup.replaceChildren(
      el("div", { class: "sweep-axes" }, ...axes.map((a) => el("div", { class: "sweep-axis", text: `${a.node}.${a.input}: ${a.values.length} value${a.values.length === 1 ? "" : "s"}` }))),
      el("div", { class: "sweep-count", "data-cells": total ?? "" },
        document.createTextNode(total === null ? `zip needs as many values on each input (${lengths.join(" vs ")})` : `${total} cell${total === 1 ? "" : "s"} on Queue`),
        el("label", { class: "sweep-zip-label" }, box, document.createTextNode(" zip"))));
  }

  /** Route an event of one of our jobs: `sweep` starts the grid, `cell` fills a tile, `done` ends. */
  onEvent(ev) {
    if (ev.event === "sweep") this.begin(ev);
    else if (ev.job !== this.job) return;
    else if (ev.event === "cell") this.fill(ev);
    else if (ev.event === "done") this.finish(ev);
  }

  begin(ev) {
    try { localStorage.setItem(LAST_SWEEP_KEY, ev.job); } catch { /* private mode */ }
    this.indexUrl = null;
    this.job = ev.job;
    this.axes = ev.axes || [];
    this.zip = !!ev.zip;
    this.total = ev.cells;
    this.done = 0;
    this.status = "running";
    this.sheetUrl = null;
    this.cells = sweepCells(this.axes, this.zip).map((values) => ({ values, done: false }));
    this.root.classList.remove("hidden");
    this.renderResults();
  }

  fill(ev) {
    const cell = this.cells[ev.cell];
    if (!cell) return;
    const urls = (ev.urls || []).map((u) => this.api.withToken(u));
    Object.assign(cell, { done: true, label: ev.label, urls, workflow: ev.workflow, cached: ev.cached });
    this.done = ev.done;
    if (ev.sheet_url) this.sheetUrl = this.api.withToken(ev.sheet_url);
    this.renderResults();
  }

  finish(ev) {
    this.status = ev.status || "done";
    this.renderResults();
    if (this.indexUrl) this.readIndex(); // a rebuilt grid: cells that finished before we subscribed
  }

  /** After a page reload: the grid of the sweep shown last (`show`). */
  async restore() {
    let jobId = null;
    try { jobId = localStorage.getItem(LAST_SWEEP_KEY); } catch { /* private mode */ }
    if (!jobId || this.job) return false;
    const shown = await this.show(jobId);
    if (!shown) {
      try { localStorage.removeItem(LAST_SWEEP_KEY); } catch { /* private mode */ }
    }
    return shown;
  }

  /**
   * The grid of any sweep job (the history's "Grid"), from the server's record of the job (axes,
   * the URLs of its index and sheet) and its index (the finished cells). A job still running is
   * followed (`onFollowJob`) so its next cells fill in as they finish. False when the job is
   * gone or was not a sweep.
   */
  async show(jobId) {
    let record;
    try { record = await this.api.request("job", { job: jobId }); } catch { record = null; }
    if (!record || !record.sweep) return false;
    const sweep = record.sweep;
    this.begin({ job: jobId, axes: sweep.axes, zip: sweep.zip, cells: sweep.cells });
    this.status = record.status === "pending" || record.status === "running" ? "running" : record.status;
    this.indexUrl = sweep.index_url ? this.api.withToken(sweep.index_url) : null;
    this.sheetUrl = sweep.sheet_url ? this.api.withToken(sweep.sheet_url) : null;
    if (this.status === "running" && this.onFollowJob) this.onFollowJob(jobId);
    await this.readIndex();
    return true;
  }

  /** Fill the cells the sweep's index lists as done (it is rewritten as cells finish). */
  async readIndex() {
    if (!this.indexUrl) return;
    const job = this.job;
    let index;
    try {
      const reply = await fetch(`${this.indexUrl}${this.indexUrl.includes("?") ? "&" : "?"}v=${Date.now()}`);
      if (!reply.ok) return; // not written yet: the first cell's event writes it
      index = await reply.json();
    } catch (err) {
      console.warn("sweep index:", err.message);
      return;
    }
    if (job !== this.job) return;
    for (const row of index.cells || []) {
      const cell = this.cells[row.cell];
      if (!cell || cell.done || row.status !== "done") continue;
      const urls = (row.names || []).filter(Boolean).map((n) => this.api.outputUrl(n));
      const label = this.axes.map((a) => `${a.name}=${show(row.values[a.name])}`).join(", ");
      Object.assign(cell, { done: true, label, urls, workflow: row.workflow, cached: row.cached });
    }
    this.done = this.cells.filter((c) => c.done).length;
    this.renderResults();
  }

  tile(cell, index) {
    const label = this.axes.map((a, i) => `${shortName(a.name)}=${show(cell.values[i])}`).join(" · ");
    const full = cell.label || this.axes.map((a, i) => `${a.name}=${show(cell.values[i])}`).join(", ");
    const tile = el("button", { type: "button", class: "sweep-cell", "data-cell": index, "data-status": cell.done ? "done" : "pending",
      title: cell.done ? `${full}\nclick: load this cell's workflow` : `${full} (not finished)` });
    tile.disabled = !cell.done;
    const image = (cell.urls || []).find((u) => MEDIA_RE.test(u));
    if (image) tile.append(mediaElement(image, { className: "sweep-thumb", alt: full, controls: false }));
    else tile.append(el("div", { class: "sweep-thumb empty" }));
    tile.append(el("span", { class: "sweep-label", text: label }));
    tile.addEventListener("click", () => cell.done && this.onOpenCell && this.onOpenCell(cell));
    return tile;
  }

  renderResults() {
    if (!this.job) { this.results.replaceChildren(); return; }
    const head = el("div", { class: "sweep-progress", "data-done": this.done, "data-total": this.total, "data-status": this.status },
      el("span", { class: "sweep-count-done", text: `${this.done} / ${this.total} cells` }),
      el("span", { class: "muted", text: this.status === "running" ? "" : this.status }));
    if (this.sheetUrl) {
      head.append(el("a", { class: "sweep-sheet-link", href: `${this.sheetUrl}${this.sheetUrl.includes("?") ? "&" : "?"}v=${this.done}`, target: "_blank", text: "sheet.png", title: "the contact sheet so far" }));
    }
    const tiles = this.cells.map((c, i) => this.tile(c, i));
    let grid;
    if (this.axes.length === 2 && !this.zip) {  // rows: the first axis, columns: the second, headers labelled
      const [rows, cols] = this.axes;
      grid = el("div", { class: "sweep-grid table" });
      grid.style.gridTemplateColumns = `auto repeat(${cols.values.length}, minmax(0, 1fr))`;
      grid.append(el("span", { class: "sweep-corner", text: `${shortName(rows.name)} \\ ${shortName(cols.name)}` }));
      for (const v of cols.values) grid.append(el("span", { class: "sweep-head col", text: show(v) }));
      rows.values.forEach((v, r) => {
        grid.append(el("span", { class: "sweep-head row", text: show(v) }));
        grid.append(...tiles.slice(r * cols.values.length, (r + 1) * cols.values.length));
      });
    } else {
      grid = el("div", { class: "sweep-grid flow" }, ...tiles);
    }
    this.results.replaceChildren(head, grid);
  }
}
