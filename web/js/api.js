// Websocket client for docs/protocol.md: request/reply by id, an event stream, reconnect.

export function tokenFromHash(hash = location.hash) {
  const m = /(?:^#|&)token=([^&]*)/.exec(hash || "");
  return m ? decodeURIComponent(m[1]) : null;
}

export class Api {
  constructor({ token = null, url = null } = {}) {
    this.token = token;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = url || `${scheme}//${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ""}`;
    this.ws = null;
    this.seq = 0;
    this.pending = new Map();
    this.handlers = new Map();
    this.backoff = 500;
    this.closed = false;
    this.connected = false;
  }

  /** Subscribe to a message type ("event", "status", "preview", ...) or a state ("open", "close"). */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  fire(type, msg) {
    for (const fn of this.handlers.get(type) || []) {
      try { fn(msg); } catch (err) { console.warn("handler for", type, "failed:", err); }
    }
  }

  connect() {
    this.closed = false;
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.connected = true;
      this.backoff = 500;
      this.fire("open", {});
    });
    ws.addEventListener("message", (ev) => {
      if (typeof ev.data !== "string") return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.id !== undefined && this.pending.has(msg.id)) {
        const { resolve, reject, timer } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        clearTimeout(timer);
        if (msg.type === "error") reject(Object.assign(new Error(msg.message || msg.code || "error"), { reply: msg }));
        else resolve(msg);
        return;
      }
      this.fire(msg.type, msg);
      this.fire("*", msg);
    });
    ws.addEventListener("close", (ev) => {
      const was = this.connected;
      this.connected = false;
      for (const { reject, timer } of this.pending.values()) {
        clearTimeout(timer);
        reject(new Error("connection closed"));
      }
      this.pending.clear();
      this.fire("close", { code: ev.code, reason: ev.reason, was });
      if (!this.closed) {
        setTimeout(() => { if (!this.closed) this.connect(); }, this.backoff);
        this.backoff = Math.min(this.backoff * 2, 8000);
      }
    });
    // Errors always come with a close; nothing to do here (and nothing to log as an error).
    ws.addEventListener("error", () => {});
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }

  /** Send `{type, id, ...fields}` and resolve with the reply carrying the same id. */
  request(type, fields = {}, { binary = null, timeout = 30000 } = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("not connected to the server"));
    }
    const id = `c${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to ${type} within ${timeout / 1000}s`));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...fields, type, id }));
      if (binary) this.ws.send(binary);
    });
  }

  /** URL of an output file, usable in <img src>. */
  outputUrl(name) {
    if (/^(\/|https?:)/.test(name)) return this.withToken(name);
    const clean = String(name).split(/[\\/]/).map(encodeURIComponent).join("/");
    return this.withToken(`/output/${clean}`);
  }

  withToken(url) {
    if (!this.token || !url.startsWith("/") || /[?&]token=/.test(url)) return url;
    return url + (url.includes("?") ? "&" : "?") + `token=${encodeURIComponent(this.token)}`;
  }
}
