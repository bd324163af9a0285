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

/** True for an animated WebP or a GIF (their workflow: WebP EXIF, readWebpTexts in comfy.js; GIF comment). */
export function isWebpOrGif(bytes) {
  const b = new Uint8Array(bytes.buffer ? bytes.buffer : bytes, bytes.byteOffset || 0, Math.min(12, bytes.byteLength));
  const text = String.fromCharCode(...b);
  return (text.startsWith("RIFF") && text.slice(8, 12) === "WEBP") || text.startsWith("GIF87a") || text.startsWith("GIF89a");
}

/** True when the bytes start with a GIF signature. */
export function isGif(bytes) {
  const b = new Uint8Array(bytes.buffer ? bytes.buffer : bytes, bytes.byteOffset || 0, Math.min(6, bytes.byteLength));
  const text = String.fromCharCode(...b);
  return text === "GIF87a" || text === "GIF89a";
}

/** The texts of a GIF's comment extensions, in file order. Walks the blocks (extensions and
 *  images, each a run of length-prefixed sub-blocks) up to the trailer or a damaged block. */
export function readGifComments(buffer) {
  const bytes = new Uint8Array(buffer);
  const comments = [];
  if (bytes.length < 13) return comments;
  const table = (flags) => (flags & 0x80 ? 3 * (1 << ((flags & 7) + 1)) : 0);  // colour table bytes
  let pos = 13 + table(bytes[10]);
  const subBlocks = (collect) => {  // from pos to just past the terminating zero-length sub-block
    while (pos < bytes.length && bytes[pos] !== 0) {
      const n = bytes[pos];
      if (collect) collect.push(bytes.subarray(pos + 1, Math.min(bytes.length, pos + 1 + n)));
      pos += 1 + n;
    }
    pos += 1;
  };
  while (pos < bytes.length) {
    const block = bytes[pos];
    if (block === 0x21) {  // extension: label, then its data
      const label = bytes[pos + 1];
      pos += 2;
      const parts = label === 0xfe ? [] : null;  // 0xFE: a comment
      subBlocks(parts);
      if (parts) comments.push(parts.map((p) => utf8.decode(p)).join(""));
    } else if (block === 0x2c) {  // an image: descriptor, local colour table, LZW code size, data
      const flags = bytes[pos + 9];
      pos += 10 + table(flags) + 1;
      subBlocks(null);
    } else break;  // 0x3B, the trailer, or damage: what was read stands
  }
  return comments;
}

/** The workflow SaveVideo puts in a GIF's comment ("nodegraph.workflow:<json>"), or null. */
export function readGifWorkflow(buffer) {
  const text = readGifComments(buffer).find((c) => c.startsWith(WORKFLOW_KEY + ":"));
  return text ? text.slice(WORKFLOW_KEY.length + 1) : null;
}

// ---- WebM / Matroska: EBML elements; the muxer keeps tags as Segment > Tags > Tag > SimpleTag
// (TagName, TagString), with names upper-cased ("NODEGRAPH.WORKFLOW").
const EBML_HEADER = 0x1a45dfa3, SEGMENT = 0x18538067, TAGS = 0x1254c367, TAG = 0x7373, SIMPLE_TAG = 0x67c8,
  TAG_NAME = 0x45a3, TAG_STRING = 0x4487;

/** True when the bytes start with an EBML header (WebM, MKV). */
export function isMatroska(bytes) {
  const b = new Uint8Array(bytes.buffer ? bytes.buffer : bytes, bytes.byteOffset || 0, Math.min(4, bytes.byteLength));
  return b.length === 4 && ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0 === EBML_HEADER;
}

/** An EBML variable-length integer at pos: {value, length, unknown} (unknown: all value bits set). */
function vint(bytes, pos, keepMarker) {
  if (pos >= bytes.length) return null;
  let length = 1, mask = 0x80;
  while (length <= 8 && !(bytes[pos] & mask)) { length++; mask >>= 1; }
  if (length > 8 || pos + length > bytes.length) return null;
  let value = keepMarker ? bytes[pos] : bytes[pos] & (mask - 1);
  let ones = (bytes[pos] & (mask - 1)) === mask - 1;
  for (let i = 1; i < length; i++) { value = value * 256 + bytes[pos + i]; ones = ones && bytes[pos + i] === 0xff; }
  return { value, length, unknown: !keepMarker && ones };
}

function* elements(bytes, start, end) {
  let pos = start;
  while (pos < end) {
    const id = vint(bytes, pos, true);
    const size = id && vint(bytes, pos + id.length, false);
    if (!size) return;
    const dataStart = pos + id.length + size.length;
    const dataEnd = size.unknown ? end : dataStart + size.value;
    if (dataEnd > end) return;  // cut short: what was read so far stands
    yield { id: id.value, start: dataStart, end: dataEnd };
    pos = dataEnd;
  }
}

/** Text tags of a WebM/MKV file as {lower-cased name: text}; {} when there are none. */
export function readMatroskaTags(buffer) {
  const bytes = new Uint8Array(buffer);
  const tags = {};
  for (const segment of elements(bytes, 0, bytes.length)) {
    if (segment.id !== SEGMENT) continue;
    for (const group of elements(bytes, segment.start, segment.end)) {
      if (group.id !== TAGS) continue;
      for (const tag of elements(bytes, group.start, group.end)) {
        if (tag.id !== TAG) continue;
        for (const simple of elements(bytes, tag.start, tag.end)) {
          if (simple.id !== SIMPLE_TAG) continue;
          let name = null, text = null;
          for (const field of elements(bytes, simple.start, simple.end)) {
            if (field.id === TAG_NAME) name = utf8.decode(bytes.subarray(field.start, field.end));
            else if (field.id === TAG_STRING) text = utf8.decode(bytes.subarray(field.start, field.end));
          }
          if (name !== null && text !== null) tags[name.toLowerCase()] = text;
        }
      }
    }
  }
  return tags;
}

/** The workflow embedded in a clip made by nodegraph (MP4 or WebM); throws when there is none. */
export function readVideoWorkflow(buffer) {
  if (!isMatroska(new Uint8Array(buffer))) return readMp4Workflow(buffer);
  const text = readMatroskaTags(buffer)[WORKFLOW_KEY];
  if (!text) throw new Error("no nodegraph workflow in this video");
  return JSON.parse(text);
}
