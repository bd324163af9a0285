// The canvas application: connects the model, the view, the palette, the panels and the server.

import { Api, tokenFromHash } from "./api.js";
import { CanvasView } from "./canvas.js";
import { Editor } from "./editing.js";
import { Catalogue, Graph } from "./graph.js";
import { QueuePanel, outputName } from "./panels.js";
import { Palette } from "./palette.js";
import { applyControlsAfterQueue, isComfyData, isWebp, readWebpTexts } from "./comfy.js";
import { WORKFLOW_KEY, isPng, readPngText } from "./png.js";
import { SweepPanel } from "./sweep.js";
import { MEDIA_RE, isGif, isMatroska, isMp4, isWebpOrGif, readGifWorkflow, readVideoWorkflow } from "./video.js";
import { el } from "./widgets.js";

const STORAGE_KEY = "nodegraph.canvas.workflow";
const NAME_KEY = "nodegraph.canvas.name"; // the workflow's file name survives a reload too
const DEFAULT_NAME = "workflow.json"; // a new canvas's, and after Clear
const $ = (sel) => document.querySelector(sel);

// ---- toasts ---------------------------------------------------------------------------
function toast(message, kind = "info", ms = 3500) {
  const t = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", text: message });
  $("#toasts").append(t);
  setTimeout(() => { t.classList.add("fade"); setTimeout(() => t.remove(), 400); }, ms);
}

// ---- state ----------------------------------------------------------------------------
const token = tokenFromHash();
const api = new Api({ token });
const graph = new Graph(new Catalogue());
const fileCache = new Map(); // kind -> {at, names}
const services = {
  /** Names like demo:tiny-sdxl are not files: offer the scheme defaults the catalogue knows for a kind. */
  schemeNames(kind) {
    const out = [];
    for (const spec of graph.catalogue.nodes.values()) {
      for (const input of spec.inputs) {
        if (input.file && input.file.kind === kind && typeof input.default === "string" && /^[a-z][a-z0-9+.-]*:/i.test(input.default)) out.push(input.default);
      }
    }
    return [...new Set(out)].sort();
  },
  async files(kind) {
    const hit = fileCache.get(kind);
    if (hit && Date.now() - hit.at < 3000) return hit.names;
    const reply = await api.request("files", { kind });
    const names = reply.files || [];
    fileCache.set(kind, { at: Date.now(), names });
    return names;
  },
  async upload(file, kind) {
    try {
      const bytes = await file.arrayBuffer();
      const reply = await api.request("upload", { name: file.name, kind }, { binary: bytes, timeout: 120000 });
      fileCache.delete(kind);
      toast(`Uploaded ${reply.name}`);
      return reply.name;
    } catch (err) {
      toast(`Upload failed: ${err.message}`, "error");
      return null;
    }
  },
};

const canvas = new CanvasView($("#canvas"), graph, {
  services,
  toast,
  onSelect: (ids) => { $("#sel-count").textContent = ids.length ? `${ids.length} selected` : ""; },
});
const editor = new Editor(canvas, { toast });
const palette = new Palette($("#palette"), {
  onDrop: (type, x, y) => { if (canvas.isInside(x, y)) canvas.dropNode(type, x, y); },
  onAdd: (type) => {
    const [cx, cy] = canvas.centerWorld();
    const n = graph.addNode(type, [cx - 110 + (graph.nodes.size % 5) * 16, cy - 60 + (graph.nodes.size % 5) * 16]);
    canvas.select([n.id]);
  },
});
const panel = new QueuePanel($("#queue-panel"), api, {
  onInterrupt: (job) => interrupt(job),
  onOpenOutput: (url) => window.open(url, "_blank"),
  onOpenJob: async (job) => {
    try {
      const reply = await api.request("job", { job });
      if (reply.workflow) loadObject(reply.workflow, `job-${String(job).slice(0, 8)}.json`);
    } catch (err) { toast(`Cannot open job: ${err.message}`, "error"); }
  },
  onShowSweep: async (job) => {
    if (!(await sweepPanel.show(job))) toast("That sweep is no longer on the server", "error");
  },
});

const sweepPanel = new SweepPanel($("#queue-panel"), graph, api, { onOpenCell: (cell) => openCell(cell), onFollowJob: followJob });

let currentJob = null;
const myJobs = new Set();

// ---- persistence: autosave, undo ------------------------------------------------------
const undo = { stack: [], redo: [], timer: null, queued: false, restoring: false };
function snapshot() { return JSON.stringify(graph.toWorkflow()); }
// One undo step per task (a drag, a keypress, a duplicate of many nodes): coalesced in a microtask.
function recordChange() {
  if (!undo.queued) {
    undo.queued = true;
    queueMicrotask(() => {
      undo.queued = false;
      const s = snapshot();
      if (!undo.restoring && undo.stack[undo.stack.length - 1] !== s) {
        undo.stack.push(s);
        if (undo.stack.length > 200) undo.stack.shift();
        undo.redo = [];
      }
    });
  }
  clearTimeout(undo.timer);
  undo.timer = setTimeout(() => {
    try { localStorage.setItem(STORAGE_KEY, snapshot()); } catch { /* private mode */ }
    $("#node-count").textContent = `${graph.nodes.size} node${graph.nodes.size === 1 ? "" : "s"}`;
  }, 150);
}
graph.onChange(() => recordChange());

function restore(s) {
  undo.restoring = true;
  graph.loadWorkflow(JSON.parse(s));
  undo.restoring = false;
  try { localStorage.setItem(STORAGE_KEY, s); } catch { /* ignore */ }
}
function doUndo() {
  const now = snapshot();
  if (undo.stack[undo.stack.length - 1] !== now) undo.stack.push(now);
  if (undo.stack.length < 2) return;
  undo.redo.push(undo.stack.pop());
  restore(undo.stack[undo.stack.length - 1]);
}
function doRedo() {
  if (!undo.redo.length) return;
  const s = undo.redo.pop();
  undo.stack.push(s);
  restore(s);
}

// ---- save / load ----------------------------------------------------------------------
function setWorkflowName(name) {
  $("#wf-name").value = name;
  try { localStorage.setItem(NAME_KEY, name); } catch { /* private mode */ }
}
$("#wf-name").addEventListener("change", () => setWorkflowName($("#wf-name").value.trim() || DEFAULT_NAME));
function workflowText() {
  return JSON.stringify(graph.toWorkflow(), null, 2) + "\n";
}

function save() {
  const blob = new Blob([workflowText()], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: $("#wf-name").value.trim() || DEFAULT_NAME });
  if (!a.download.endsWith(".json")) a.download += ".json";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  toast(`Saved ${a.download}`);
}

function loadObject(data, name) {
  try {
    graph.loadWorkflow(data);
  } catch (err) {
    toast(`Cannot load ${name}: ${err.message}`, "error", 6000);
    return false;
  }
  canvas.clearRunState({ keepOutputs: false });
  requestAnimationFrame(() => canvas.fitView());
  if (name) setWorkflowName(name.replace(/(\.(png|mp4|m4v|mov|webm|mkv|webp|gif))?(\.json)?$/i, "") + ".json");
  const unknown = [...graph.nodes.values()].filter((n) => !graph.catalogue.get(n.type)).map((n) => n.type);
  if (unknown.length && graph.catalogue.nodes.size) toast(`Not installed on the server: ${[...new Set(unknown)].join(", ")}`, "error", 6000);
  else toast(`Loaded ${name || "workflow"}`);
  return true;
}

/** Workflow JSON text found in a file's metadata onto the canvas. */
function loadText(text, name) {
  let wf = null;
  try { wf = JSON.parse(text); } catch (err) { toast(`Cannot read ${name}: ${err.message}`, "error"); return false; }
  return loadObject(wf, name);
}

async function loadFile(file) {
  const bytes = await file.arrayBuffer();
  const head = new Uint8Array(bytes);
  if (isPng(head)) {
    let text = null;
    try { text = await readPngText(bytes); } catch (err) { toast(`Cannot read ${file.name}: ${err.message}`, "error"); return false; }
    if (WORKFLOW_KEY in text) {
      let wf = null;
      try { wf = JSON.parse(text[WORKFLOW_KEY]); } catch (err) { toast(`Cannot read ${file.name}: ${err.message}`, "error"); return false; }
      return loadObject(wf, file.name);
    }
    if (text.workflow || text.prompt) return importFile({ workflow: text.workflow, prompt: text.prompt, name: file.name }, file.name);
    toast(`${file.name} holds no nodegraph workflow (nor a ComfyUI one)`, "error");
    return false;
  }
  if (isWebp(head)) {  // an animated WebP: its EXIF holds the workflow (SaveVideo's, or ComfyUI's SaveAnimatedWEBP's)
    const text = readWebpTexts(head);
    if (WORKFLOW_KEY in text) return loadText(text[WORKFLOW_KEY], file.name);
    if (text.workflow || text.prompt) return importFile({ workflow: text.workflow, prompt: text.prompt, name: file.name }, file.name);
  }
  if (isGif(head)) {  // a GIF saved by SaveVideo: its comment holds the workflow
    const text = readGifWorkflow(bytes);
    if (text) return loadText(text, file.name);
  }
  if (isMp4(head) || isMatroska(head)) {  // a clip saved by SaveVideo carries its workflow in a metadata tag
    let wf = null;
    try { wf = readVideoWorkflow(bytes); } catch (err) { toast(`${file.name}: ${err.message}`, "error"); return false; }
    return loadObject(wf, file.name);
  }
  if (isWebpOrGif(head)) {  // rewritten by another tool without the metadata: the sidecar SaveVideo wrote still has it
    toast(`${file.name} carries no workflow: open ${file.name}.json, the sidecar SaveVideo writes beside it`, "error", 6000);
    return false;
  }
  let data;
  try { data = JSON.parse(new TextDecoder().decode(bytes)); } catch (err) {
    toast(`${file.name} is neither JSON nor a nodegraph PNG, MP4, WebM, WebP or GIF`, "error");
    return false;
  }
  if (isComfyData(data)) return importFile({ data, name: file.name }, file.name);
  // A clip's sidecar (<clip>.json, written by SaveVideo) holds the workflow beside provenance.
  if (data && data.format === undefined && data.workflow && typeof data.workflow === "object") data = data.workflow;
  return loadObject(data, file.name);
}

/** A ComfyUI file: the server converts it (with its catalogue) and the canvas opens the result. */
async function importFile(fields, name) {
  let reply;
  try {
    reply = await api.request("import", fields, { timeout: 60000 });
  } catch (err) {
    const problems = (err.reply && err.reply.problems) || [];
    const shown = problems.slice(0, 3).map((p) => (p.node ? `node ${p.node}: ` : "") + p.message).join("; ");
    toast(`Cannot open ${name}: ${shown || err.message}`, "error", 8000);
    return false;
  }
  return loadObject(reply.workflow, name);
}

/**
 * A sweep cell's own workflow onto the canvas: read from the image it wrote (the same path as
 * dropping that PNG), else from its `cell` event (outputs that carry no workflow).
 */
async function openCell(cell) {
  const png = (cell.urls || []).find((u) => /\.png(\?|$)/i.test(u));
  if (png) {
    const name = decodeURIComponent(png.split("?")[0].split("/").pop());
    try {
      const reply = await fetch(png);
      if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
      if (await loadFile(new File([await reply.arrayBuffer()], name, { type: "image/png" }))) return;
    } catch (err) { console.warn(`cell image ${name}:`, err.message); }
  }
  if (cell.workflow) loadObject(cell.workflow, `cell-${cell.label || "sweep"}.json`);
  else toast("This cell left no workflow to open", "error");
}

// ---- queue / interrupt / events -------------------------------------------------------
async function queue() {
  if (!graph.nodes.size) { toast("Nothing to run: the canvas is empty.", "error"); return; }
  for (const id of graph.nodes.keys()) canvas.setRunState(id, { error: null, errorInputs: null });
  try {
    const reply = await api.request("queue", { workflow: graph.toWorkflow(), client_ref: "canvas" });
    myJobs.add(reply.job);
    applyControlsAfterQueue(graph);  // ComfyUI's control_after_generate: the next run gets the next seed
    toast(reply.position ? `Queued (position ${reply.position})` : "Queued");
    panel.refresh();
  } catch (err) {
    const problems = (err.reply && err.reply.problems) || [];
    if (problems.length) {
      const byNode = new Map();
      for (const p of problems) {
        if (!p.node) continue;
        if (!byNode.has(p.node)) byNode.set(p.node, { msgs: [], inputs: [] });
        byNode.get(p.node).msgs.push(p.input ? `${p.input}: ${p.message}` : p.message);
        if (p.input) byNode.get(p.node).inputs.push(p.input);
      }
      for (const [id, { msgs, inputs }] of byNode) canvas.setRunState(id, { status: "invalid", error: msgs.join("\n"), errorInputs: inputs });
      const general = problems.filter((p) => !p.node).map((p) => p.message);
      toast(`Not queued: ${problems.length} problem${problems.length > 1 ? "s" : ""}${general.length ? ` — ${general.join("; ")}` : " (shown on the nodes)"}`, "error", 6000);
    } else {
      toast(`Not queued: ${err.message}`, "error", 6000);
    }
  }
}

async function interrupt(job) {
  try {
    await api.request("interrupt", job ? { job } : {});
    toast("Interrupting…");
  } catch (err) {
    toast(`Interrupt failed: ${err.message}`, "error");
  }
}

function imagesFrom(ev) {  // images and playable clips: the node shows both
  if (Array.isArray(ev.urls) && ev.urls.length) return ev.urls.filter((u) => MEDIA_RE.test(u)).map((u) => api.withToken(u));
  const ui = ev.ui || {};
  const names = [...(Array.isArray(ui.images) ? ui.images : []), ...(Array.isArray(ui.videos) ? ui.videos : [])];
  return names.map((n) => api.outputUrl(outputName(n)));
}

/** A sweep names a node that differs between cells `solid[red=0.2]`: show it on node `solid`. */
function canvasId(id) {
  if (typeof id !== "string" || graph.nodes.has(id)) return id;
  const m = /^(.+?)\[.*\]$/.exec(id);
  return m && graph.nodes.has(m[1]) ? m[1] : id;
}

/** Receive a job's events as our own (a sweep still running when the page was reloaded). */
function followJob(job) {
  if (myJobs.has(job)) return;
  myJobs.add(job);
  api.request("subscribe", { job }).catch(() => myJobs.delete(job));
}

function onEvent(ev) {
  panel.trackEvent(ev);
  if (ev.job && !myJobs.has(ev.job)) return; // another client's job: the panel shows it
  sweepPanel.onEvent(ev);
  const id = canvasId(ev.node);
  switch (ev.event) {
    case "start":
      currentJob = ev.job;
      canvas.clearRunState();
      for (const n of ev.nodes || []) canvas.setRunState(canvasId(n), { status: "queued", error: null, errorInputs: null });
      setRunning(true);
      break;
    case "cached":
      canvas.setRunState(id, { status: "cached", value: 0, max: 0, seconds: null, phases: null, ...uiPatch(ev) });
      break;
    case "executing":
      canvas.setRunState(id, { status: "running", value: 0, max: 0, seconds: null, phases: null });
      break;
    case "progress":
      canvas.setRunState(id, { status: "running", value: ev.value, max: ev.max });
      break;
    case "executed": // seconds: the node's own run time, shown on the node; phases: parts of it, on hover
      canvas.setRunState(id, { status: "done", seconds: typeof ev.seconds === "number" ? ev.seconds : null,
                               phases: ev.phases || null, ...uiPatch(ev) });
      break;
    case "error":
      canvas.setRunState(id, { status: "error", error: ev.message || "failed", errorInputs: ev.input ? [ev.input] : null });
      toast(`#${id} ${ev.node_type || ""} failed: ${ev.message}`, "error", 6000);
      break;
    case "interrupted":
      if (id) canvas.setRunState(id, { status: "interrupted" });
      break;
    case "done":
      for (const [nid, s] of canvas.runState) if (s.status === "queued" || s.status === "running") canvas.setRunState(nid, { status: ev.status === "interrupted" ? "skipped" : "", max: 0 });
      if (ev.job === currentJob) { currentJob = null; setRunning(false); }
      myJobs.delete(ev.job);
      $("#run-status").textContent = `${ev.status || "done"} · ${ev.executed ?? 0} run, ${ev.cached ?? 0} cached · ${(ev.seconds ?? 0).toFixed(2)} s`;
      $("#run-status").dataset.status = ev.status || "";
      if (ev.status === "interrupted") toast("Interrupted");
      break;
    default:
  }
}

function uiPatch(ev) {
  const patch = {};
  const images = imagesFrom(ev);
  if (images.length) patch.images = images;
  if (ev.ui && typeof ev.ui.text === "string") patch.text = ev.ui.text;
  return patch;
}

function setRunning(on) {
  document.body.classList.toggle("job-running", on);
  $("#btn-interrupt").disabled = !on;
  if (on) { $("#run-status").textContent = "running…"; $("#run-status").dataset.status = "running"; }
}

api.on("event", onEvent);
api.on("status", (msg) => {
  panel.setStatus(msg);
  $("#btn-interrupt").disabled = !(msg.running && myJobs.has(msg.running)) && !currentJob;
});
api.on("preview", (msg) => {
  if (!msg.node || (msg.job && !myJobs.has(msg.job))) return;
  const url = api.withToken(msg.url);
  const node = canvasId(msg.node);
  const s = canvas.runState.get(node) || {};
  const images = s.images || [];
  if (!images.includes(url)) canvas.setRunState(node, { images: [...images, url] });
});
api.on("open", async () => {
  setConnection("connected");
  try {
    await api.request("hello");
    const cat = await api.request("catalogue");
    graph.catalogue = new Catalogue(cat);
    palette.render(graph.catalogue);
    canvas.renderAll();
    const failures = cat.failures || [];
    if (failures.length) console.info("node packs that failed to load:", failures);
    panel.load();
    // After a reconnect (or a server restart) keep receiving the events of our unfinished jobs.
    for (const job of myJobs) api.request("subscribe", { job }).catch(() => myJobs.delete(job));
    sweepPanel.restore().catch((err) => console.warn("sweep restore:", err.message)); // after a page reload
    document.body.dataset.ready = "true";
  } catch (err) {
    toast(`Server handshake failed: ${err.message}`, "error", 8000);
  }
});
let failedConnects = 0;
api.on("close", (info) => {
  failedConnects = info.was ? 0 : failedConnects + 1;
  // A refused handshake (401 without the token, 403 from another origin) closes with 1006.
  setConnection(failedConnects >= 2 && !token ? "refused" : "disconnected");
  document.body.dataset.ready = "false";
});

function setConnection(state) {
  const c = $("#conn");
  c.dataset.state = state;
  c.textContent = { connected: "connected", disconnected: "reconnecting…", refused: "cannot connect — click to enter a token" }[state] || state;
}
$("#conn").addEventListener("click", () => {
  if ($("#conn").dataset.state !== "refused") return;
  const t = prompt("Server token (printed by `nodegraph serve`):");
  if (t) { location.hash = `token=${encodeURIComponent(t)}`; location.reload(); }
});

// ---- actions --------------------------------------------------------------------------
const deleteSelection = () => editor.deleteSelection();
const duplicateSelection = () => editor.duplicateSelection();

const actions = {
  queue, save, undo: doUndo, redo: doRedo,
  interrupt: () => interrupt(currentJob),
  load: () => $("#file-input").click(),
  fit: () => canvas.fitView(),
  "zoom-reset": () => canvas.resetZoom(),
  delete: deleteSelection,
  duplicate: duplicateSelection,
  clear: () => {
    if (graph.nodes.size && !confirm("Remove every node from the canvas?")) return;
    graph.clear();
    canvas.runState.clear();
    setWorkflowName(DEFAULT_NAME);  // a new graph: not saved over the one that was open
  },
  "toggle-panel": () => document.body.classList.toggle("panel-hidden"),
};
for (const b of document.querySelectorAll("[data-action]")) {
  b.addEventListener("click", () => actions[b.dataset.action] && actions[b.dataset.action]());
}
$("#file-input").addEventListener("change", async (e) => {
  const f = e.target.files[0];
  if (f) await loadFile(f);
  e.target.value = "";
});

window.addEventListener("keydown", (e) => {
  const editing = e.target.closest && e.target.closest("input, textarea, select, [contenteditable]");
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.key === "Enter") { e.preventDefault(); if (editing) e.target.dispatchEvent(new Event("change", { bubbles: true })); queue(); return; }
  if (mod && (e.key === "s" || e.key === "S")) { e.preventDefault(); save(); return; }
  if (mod && (e.key === "o" || e.key === "O")) { e.preventDefault(); actions.load(); return; }
  if (editing) { if (e.key === "Escape") e.target.blur(); return; }
  if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); deleteSelection(); }
  else if (mod && (e.key === "d" || e.key === "D")) { e.preventDefault(); duplicateSelection(); }
  else if (mod && (e.key === "b" || e.key === "B")) { e.preventDefault(); editor.toggleMode("bypass"); }
  else if (mod && (e.key === "m" || e.key === "M")) { e.preventDefault(); editor.toggleMode("mute"); }
  else if (mod && (e.key === "g" || e.key === "G")) { e.preventDefault(); editor.groupSelection(); }
  else if (mod && (e.key === "a" || e.key === "A")) { e.preventDefault(); canvas.select([...graph.nodes.keys()]); }
  else if (mod && !e.shiftKey && (e.key === "z" || e.key === "Z")) { e.preventDefault(); doUndo(); }
  else if (mod && ((e.shiftKey && (e.key === "z" || e.key === "Z")) || e.key === "y")) { e.preventDefault(); doRedo(); }
  else if (e.key === "Escape") { canvas.select([]); if (currentJob && e.shiftKey) interrupt(currentJob); }
  else if (e.key === "/") { e.preventDefault(); palette.focusSearch(); }
  else if (e.key === "f" || e.key === "F" || e.key === ".") canvas.fitSelection();
  else if (e.key === "0" && !mod) canvas.resetZoom();
  else if (e.key === "+" || e.key === "=") { const r = $("#canvas").getBoundingClientRect(); canvas.zoomAt(r.left + r.width / 2, r.top + r.height / 2, 1.2); }
  else if (e.key === "-") { const r = $("#canvas").getBoundingClientRect(); canvas.zoomAt(r.left + r.width / 2, r.top + r.height / 2, 1 / 1.2); }
});

// Drop a workflow .json or a nodegraph PNG anywhere on the page.
window.addEventListener("dragover", (e) => {
  if ([...(e.dataTransfer?.types || [])].includes("Files")) { e.preventDefault(); document.body.classList.add("drop-target"); }
});
window.addEventListener("dragleave", (e) => { if (e.target === document.documentElement || !e.relatedTarget) document.body.classList.remove("drop-target"); });
window.addEventListener("drop", async (e) => {
  document.body.classList.remove("drop-target");
  const f = e.dataTransfer && e.dataTransfer.files[0];
  if (!f) return;
  e.preventDefault();
  await loadFile(f);
});

$("#canvas").addEventListener("view-change", (e) => { $("#zoom").textContent = `${Math.round(e.detail.scale * 100)}%`; });
$("#canvas").addEventListener("canvas-dblclick", () => palette.focusSearch());

// ---- start ----------------------------------------------------------------------------
try {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved) graph.loadWorkflow(JSON.parse(saved));
  const savedName = localStorage.getItem(NAME_KEY);
  if (savedName) $("#wf-name").value = savedName;
} catch { /* a broken autosave is dropped */ }
undo.stack.push(snapshot());
setRunning(false);
setConnection("disconnected");
api.connect();
requestAnimationFrame(() => { if (graph.nodes.size) canvas.fitView(); });

// For tests and the console: the live objects.
window.nodegraph = { api, graph, canvas, editor, palette, panel, sweepPanel, workflowText, loadObject };
