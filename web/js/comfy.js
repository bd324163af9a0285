// ComfyUI files on the canvas: recognise them and find the workflow/prompt a WebP embeds; the
// server converts them ("import", docs/protocol.md). Also ComfyUI's control_after_generate, which
// changes seed-like widgets after each queueing, as ComfyUI's canvas does (docs/comfyui.md).

import { isLink } from "./graph.js";

/** A ComfyUI workflow: the frontend's UI format (a "nodes" list) or the API format ({id: {class_type}}). */
export function isComfyData(data) {
  if (!data || typeof data !== "object" || Array.isArray(data)) return false;
  if (Array.isArray(data.nodes)) return true;
  const values = Object.values(data);
  return values.length > 0 && values.every((v) => v && typeof v === "object" && typeof v.class_type === "string");
}

export function isWebp(bytes) {
  const tag = (at) => String.fromCharCode(...bytes.subarray(at, at + 4));
  return bytes.length >= 12 && tag(0) === "RIFF" && tag(8) === "WEBP";
}

const utf8 = new TextDecoder("utf-8");

/** {prompt, workflow, ...} from a WebP's EXIF, where ComfyUI's SaveAnimatedWEBP keeps each as
 *  an ASCII tag "<key>:<json>" (0x0110 the prompt, 0x010F and down the rest). */
export function readWebpTexts(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 12;
  let exif = null;
  while (pos + 8 <= bytes.length) {
    const fourcc = String.fromCharCode(...bytes.subarray(pos, pos + 4));
    const size = view.getUint32(pos + 4, true);
    if (fourcc === "EXIF") { exif = bytes.subarray(pos + 8, Math.min(bytes.length, pos + 8 + size)); break; }
    pos += 8 + size + (size % 2);
  }
  const out = {};
  if (!exif) return out;
  let base = 0;
  if (String.fromCharCode(...exif.subarray(0, 4)) === "Exif") base = 6; // "Exif\0\0" before the TIFF header
  const tiff = new DataView(exif.buffer, exif.byteOffset + base, exif.byteLength - base);
  if (tiff.byteLength < 8) return out;
  const little = tiff.getUint16(0) === 0x4949; // "II"
  const u16 = (at) => tiff.getUint16(at, little);
  const u32 = (at) => tiff.getUint32(at, little);
  const ifd = u32(4);
  if (ifd + 2 > tiff.byteLength) return out;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.byteLength) break;
    const type = u16(entry + 2);
    const n = u32(entry + 4);
    if (type !== 2 && type !== 7) continue; // ASCII or UNDEFINED text
    const at = n <= 4 ? entry + 8 : u32(entry + 8);
    if (at + n > tiff.byteLength) continue;
    let text = utf8.decode(new Uint8Array(tiff.buffer, tiff.byteOffset + at, n));
    text = text.replace(/\0+$/, "");
    const colon = text.indexOf(":");
    if (colon > 0 && /^\s*[[{]/.test(text.slice(colon + 1)) && !(text.slice(0, colon) in out)) {
      out[text.slice(0, colon)] = text.slice(colon + 1);
    }
  }
  return out;
}

const SAFE_MAX = 2 ** 50; // ComfyUI's frontend draws random seeds below this as well (exact in a JS number)

/** After a queueing: each widget with a control ("randomize", "increment", "decrement"; "fixed"
 *  keeps it) in its node's ui.control_after_generate gets its next value. Returns how many changed. */
export function applyControlsAfterQueue(graph) {
  let changed = 0;
  for (const node of graph.nodes.values()) {
    const controls = node.ui && node.ui.control_after_generate;
    if (!controls || typeof controls !== "object") continue;
    const before = changed;
    for (const [name, mode] of Object.entries(controls)) {
      if (isLink(node.inputs[name])) continue;
      const spec = graph.catalogue.input(node.type, name) || {};
      const min = Number.isFinite(spec.minimum) ? spec.minimum : 0;
      const max = Math.min(Number.isFinite(spec.maximum) ? spec.maximum : SAFE_MAX, SAFE_MAX);
      const current = Number(graph.literal(node.id, name)) || 0;
      let next = current;
      if (mode === "randomize") next = min + Math.floor(Math.random() * (max - min + 1));
      else if (mode === "increment") next = Math.min(current + 1, max);
      else if (mode === "decrement") next = Math.max(current - 1, min);
      if (next !== current) { graph.setLiteral(node.id, name, next); changed += 1; }
    }
    if (changed > before) graph.emit("node", { id: node.id }); // the node's widgets show the new value
  }
  return changed;
}
