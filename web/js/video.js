// Video on the canvas: inline players for clips (node previews and history), and reading the
// workflow nodegraph embeds in an MP4 (metadata tag "nodegraph.workflow", QuickTime mdta keys or
// an iTunes-style item), so a dropped clip restores its workflow like a dropped PNG.

export const VIDEO_RE = /\.(mp4|webm)(\?|$)/i;
export const MEDIA_RE = /\.(png|jpe?g|webp|bmp|gif|mp4|webm)(\?|$)/i;
export const WORKFLOW_KEY = "nodegraph.workflow";

export function isVideoUrl(url) { return VIDEO_RE.test(url); }

/** An <img> or, for a clip, a muted looping <video> that plays inline. */
export function mediaElement(src, attrs = {}) {
  if (!isVideoUrl(src)) return Object.assign(document.createElement("img"), { src, draggable: false, ...attrs });
  const video = document.createElement("video");
  Object.assign(video, { src, muted: true, loop: true, autoplay: true, playsInline: true, controls: true,
    preload: "metadata", ...attrs });
  video.setAttribute("muted", "");  // the attribute, so autoplay is allowed before any click
  return video;
}

/** True when the first bytes look like an ISO BMFF file (MP4, MOV, M4V). */
export function isMp4(bytes) {
  const b = new Uint8Array(bytes.buffer ? bytes.buffer : bytes, bytes.byteOffset || 0, Math.min(8, bytes.byteLength));
  const type = String.fromCharCode(...b.subarray(4, 8));
  return b.length >= 8 && ["ftyp", "moov", "wide", "free", "mdat"].includes(type);
}

function* boxes(view, start, end) {
  let pos = start;
  while (pos + 8 <= end) {
    let size = view.getUint32(pos);
    const type = String.fromCharCode(view.getUint8(pos + 4), view.getUint8(pos + 5), view.getUint8(pos + 6), view.getUint8(pos + 7));
    let header = 8;
    if (size === 1) { size = Number(view.getBigUint64(pos + 8)); header = 16; } else if (size === 0) size = end - pos;
    if (size < header || pos + size > end) return;
    yield { type, start: pos + header, end: pos + size };
    pos += size;
  }
}

const utf8 = new TextDecoder("utf-8");

/** Text metadata tags of an MP4's movie box as {key: text}; {} when there are none. */
export function readMp4Tags(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tags = {};
  for (const moov of boxes(view, 0, bytes.length)) {
    if (moov.type !== "moov") continue;
    for (const udta of boxes(view, moov.start, moov.end)) {
      if (udta.type !== "udta") continue;
      for (const meta of boxes(view, udta.start, udta.end)) {
        if (meta.type !== "meta") continue;
        const start = view.getUint32(meta.start) === 0 ? meta.start + 4 : meta.start;  // ISO full box
        const keys = [];
        for (const box of boxes(view, start, meta.end)) {
          if (box.type !== "keys") continue;
          let pos = box.start + 8;
          while (pos + 8 <= box.end) {
            const size = view.getUint32(pos);
            if (size < 8) break;
            keys.push(utf8.decode(bytes.subarray(pos + 8, pos + size)));
            pos += size;
          }
        }
        for (const ilst of boxes(view, start, meta.end)) {
          if (ilst.type !== "ilst") continue;
          for (const item of boxes(view, ilst.start, ilst.end)) {
            const data = [...boxes(view, item.start, item.end)].find((b) => b.type === "data");
            if (!data || data.end - data.start < 8) continue;
            const text = utf8.decode(bytes.subarray(data.start + 8, data.end));
            const index = view.getUint32(item.start - 4);
            if (item.type === "\u00a9cmt") tags.comment = text;
            else if (index >= 1 && index <= keys.length) tags[keys[index - 1]] = text;
          }
        }
      }
    }
  }
  return tags;
}

/** The workflow embedded in an MP4 made by nodegraph; throws when there is none. */
export function readMp4Workflow(buffer) {
  const text = readMp4Tags(buffer)[WORKFLOW_KEY];
  if (!text) throw new Error("no nodegraph workflow in this video");
  return JSON.parse(text);
}
