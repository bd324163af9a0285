// The queue/history panel: the running job, pending jobs (cancel), and finished jobs.

import { el } from "./widgets.js";
import { MEDIA_RE, mediaElement } from "./video.js";

export class QueuePanel {
  constructor(root, api, { onInterrupt, onOpenOutput, onOpenJob, onShowSweep } = {}) {
    this.root = root;
    this.onOpenJob = onOpenJob;
    this.onShowSweep = onShowSweep; // (job id): a sweep job's grid in the sweep panel
    this.api = api;
    this.onInterrupt = onInterrupt;
    this.onOpenOutput = onOpenOutput;
    this.running = null;
    this.pending = [];
    this.jobs = [];
    this.progress = new Map(); // job -> {done, total}
    this.queueEl = el("div", { class: "queue-list" });
    this.historyEl = el("div", { class: "history-list" });
    root.append(
      el("h2", { text: "Queue" }), this.queueEl,
      el("h2", {}, document.createTextNode("History"), this.refreshBtn()),
      this.historyEl);
    this.refreshTimer = null;
    this.queueFrame = 0;
  }

  refreshBtn() {
    const b = el("button", { class: "icon", title: "refresh history", text: "↻", type: "button" });
    b.addEventListener("click", () => this.refresh());
    return b;
  }

  /** Re-read queue state and history from the server (debounced). */
  refresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.load(), 80);
  }

  async load() {
    if (!this.api.connected) return;
    try {
      const [qs, hist] = await Promise.all([this.api.request("queue_state"), this.api.request("history", { limit: 50 })]);
      this.running = qs.running ?? null;
      this.pending = qs.pending || [];
      this.jobs = hist.jobs || [];
      this.render();
    } catch (err) {
      console.warn("queue/history refresh failed:", err.message);
    }
  }

  setStatus(msg) {
    this.running = msg.running ?? null;
    this.refresh();
  }

  trackEvent(ev) {
    if (!ev.job) return;
    if (ev.event === "start") this.progress.set(ev.job, { done: 0, total: (ev.nodes || []).length });
    else if (ev.event === "executed" || ev.event === "cached") {
      const p = this.progress.get(ev.job);
      if (p) p.done += 1;
    }
    if (ev.event === "done" || ev.event === "start") this.refresh();
    else if (!this.queueFrame) {
      // thousands of node events per run: redraw the queue at most once per frame
      this.queueFrame = requestAnimationFrame(() => { this.queueFrame = 0; this.renderQueue(); });
    }
  }

  render() {
    this.renderQueue();
    this.renderHistory();
  }

  renderQueue() {
    const rows = [];
    if (this.running) {
      const p = this.progress.get(this.running);
      const stop = el("button", { class: "small danger", type: "button", text: "Interrupt", "data-action": "interrupt-job" });
      stop.addEventListener("click", () => this.onInterrupt && this.onInterrupt(this.running));
      rows.push(el("div", { class: "job running", "data-job": this.running },
        el("span", { class: "badge running", text: "running" }),
        el("span", { class: "job-id", text: short(this.running) }),
        el("span", { class: "job-progress", text: p ? `${p.done}/${p.total}` : "" }),
        stop));
    }
    for (const job of this.pending) {
      const id = typeof job === "string" ? job : job.job;
      const cancel = el("button", { class: "small", type: "button", text: "Cancel", "data-action": "cancel-job" });
      cancel.addEventListener("click", async () => {
        try { await this.api.request("cancel", { job: id }); } catch (err) { console.warn(err.message); }
        this.refresh();
      });
      rows.push(el("div", { class: "job pending", "data-job": id },
        el("span", { class: "badge pending", text: "pending" }), el("span", { class: "job-id", text: short(id) }), cancel));
    }
    if (!rows.length) rows.push(el("div", { class: "muted", text: "Nothing queued." }));
    this.queueEl.replaceChildren(...rows);
  }

  renderHistory() {
    const rows = [];
    for (const job of this.jobs) {
      if (job.status === "running" || job.status === "pending") continue;
      const row = el("div", { class: `job ${job.status}`, "data-job": job.job, "data-status": job.status },
        el("span", { class: `badge ${job.status}`, text: job.status }),
        el("span", { class: "job-id", text: short(job.job) }),
        el("span", { class: "job-time", text: when(job.finished || job.created) }));
      const urls = Array.isArray(job.urls) && job.urls.length ? job.urls.map((u) => this.api.withToken(u))
        : (job.outputs || []).map(outputName).filter(Boolean).map((f) => this.api.outputUrl(f));
      const images = urls.filter((u) => MEDIA_RE.test(u));
      if (images.length) {
        const thumbs = el("div", { class: "thumbs" });
        for (const url of images.slice(0, 4)) {
          const img = mediaElement(url, { alt: "output", title: decodeURIComponent(url.split("/").pop().split("?")[0]), controls: false });
          if (img.tagName === "IMG") img.loading = "lazy";
          img.addEventListener("click", () => this.onOpenOutput && this.onOpenOutput(url));
          thumbs.append(img);
        }
        row.append(thumbs);
      }
      if (this.onOpenJob) {
        const open = el("button", { class: "small", type: "button", text: "Open", title: "load this job's workflow onto the canvas", "data-action": "open-job" });
        open.addEventListener("click", () => this.onOpenJob(job.job));
        row.querySelector(".job-time").after(open);
      }
      if (job.sweep && this.onShowSweep) {
        const grid = el("button", { class: "small", type: "button", text: "Grid", title: "show this sweep's cells in the sweep panel", "data-action": "show-sweep" });
        grid.addEventListener("click", () => this.onShowSweep(job.job));
        row.querySelector(".job-time").after(grid);
      }
      if (job.error) {
        const msg = typeof job.error === "string" ? job.error : `${job.error.node ? `#${job.error.node}: ` : ""}${job.error.message || ""}`;
        row.append(el("div", { class: "job-error", text: msg }));
      }
      rows.push(row);
    }
    if (!rows.length) rows.push(el("div", { class: "muted", text: "No finished jobs yet." }));
    this.historyEl.replaceChildren(...rows);
  }
}

/** An output as the server reports it (a name, a path, or {name}/{path}/{url}) -> a name under /output/. */
export function outputName(out) {
  if (!out) return null;
  if (typeof out === "object") return out.name || out.url || out.path || null;
  const s = String(out);
  const i = s.lastIndexOf("/output/");
  if (i >= 0) return s.slice(i + 8);
  return s.split(/[\\/]/).pop();
}

function short(id) {
  return String(id).slice(0, 8);
}

function when(t) {
  if (!t) return "";
  const d = typeof t === "number" ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleTimeString();
}
