// Read text chunks (tEXt, zTXt, iTXt) from a PNG, to restore the workflow nodegraph embeds
// under the keyword "nodegraph.workflow".

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
export const WORKFLOW_KEY = "nodegraph.workflow";

export function isPng(bytes) {
  const b = new Uint8Array(bytes.buffer ? bytes.buffer : bytes, bytes.byteOffset || 0, Math.min(8, bytes.byteLength));
  return b.length >= 8 && SIGNATURE.every((v, i) => b[i] === v);
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** All text chunks of a PNG as {keyword: text}; throws on a file that is not a PNG. */
export async function readPngText(buffer) {
  const bytes = new Uint8Array(buffer);
  if (!isPng(bytes)) throw new Error("not a PNG file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = {};
  let pos = 8;
  while (pos + 12 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const start = pos + 8;
    const end = start + length;
    if (end + 4 > bytes.length) break; // truncated file: keep what was read
    const data = bytes.subarray(start, end);
    if (type === "tEXt" || type === "zTXt" || type === "iTXt") {
      const nul = data.indexOf(0);
      if (nul > 0) {
        const keyword = latin1.decode(data.subarray(0, nul));
        try {
          if (type === "tEXt") {
            out[keyword] = latin1.decode(data.subarray(nul + 1));
          } else if (type === "zTXt") {
            out[keyword] = latin1.decode(await inflate(data.subarray(nul + 2)));
          } else {
            const compressed = data[nul + 1] === 1;
            let p = nul + 3;
            const langEnd = data.indexOf(0, p);
            const transEnd = data.indexOf(0, langEnd + 1);
            p = transEnd + 1;
            const text = data.subarray(p);
            out[keyword] = utf8.decode(compressed ? await inflate(text) : text);
          }
        } catch (err) {
          console.warn(`PNG ${type} chunk ${keyword} could not be read:`, err);
        }
      }
    }
    if (type === "IEND") break;
    pos = end + 4; // skip the CRC
  }
  return out;
}

/** The workflow JSON object embedded by nodegraph's SaveImage, or null. */
export async function readPngWorkflow(buffer) {
  const text = await readPngText(buffer);
  if (!(WORKFLOW_KEY in text)) return null;
  return JSON.parse(text[WORKFLOW_KEY]);
}
