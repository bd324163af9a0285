"""The workflow SaveVideo embeds in a WebM, an animated WebP or a GIF, and reading it back
(``nodegraph run clip.webm``, the canvas's Open): the formats besides MP4 (``mp4meta.py``).

- WebM: Matroska tags ``nodegraph.workflow`` / ``nodegraph.provenance``, written by FFmpeg's
  muxer (which upper-cases tag names); read back with PyAV, the library that wrote them.
- Animated WebP: EXIF text tags in ComfyUI's style, each ``"<key>:<json>"`` (ImageDescription
  holds ``nodegraph.workflow:...``, DocumentName ``nodegraph.provenance:...``), so readers of
  ComfyUI's WebP files find them too; read back with Pillow.
- GIF: one comment extension ``nodegraph.workflow:<json>`` (GIF has no other text field; the
  provenance stays in the sidecar); read back with Pillow.

Each reader falls back to the sidecar ``<file>.json`` SaveVideo writes beside every clip (a file
another tool rewrote without the metadata). Nothing here imports PyAV or Pillow until a file is read.
"""
from __future__ import annotations

import json
from pathlib import Path

from nodegraph import WorkflowReader
from nodegraph.graph.workflow import PNG_WORKFLOW_KEY

from .mp4meta import first_and_last_frames, with_sidecar

PROVENANCE_KEY = "nodegraph.provenance"
EXIF_IMAGE_DESCRIPTION, EXIF_DOCUMENT_NAME = 0x010E, 0x010D  # ComfyUI counts down from 0x010F
EXIF_TAGS = {PNG_WORKFLOW_KEY: EXIF_IMAGE_DESCRIPTION, PROVENANCE_KEY: EXIF_DOCUMENT_NAME}
EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def webp_exif(tags: dict[str, str]) -> bytes:
    """EXIF bytes for an animated WebP holding ``tags`` as ``"<key>:<text>"`` strings."""
    from PIL import Image
    exif = Image.Exif()
    for key, text in tags.items():
        if key in EXIF_TAGS:  # EXIF text is ASCII: the JSON's other characters as \u escapes
            exif[EXIF_TAGS[key]] = f"{key}:{text if text.isascii() else json.dumps(json.loads(text))}"
    return exif.tobytes()


def gif_comment(tags: dict[str, str]) -> bytes:
    """The GIF comment holding the workflow; empty when there is none."""
    text = tags.get(PNG_WORKFLOW_KEY)
    return f"{PNG_WORKFLOW_KEY}:{text}".encode("utf-8") if text else b""


def _keyed(value, key: str) -> str | None:
    """``text`` of a ``"<key>:<text>"`` string (or UTF-8 bytes); None for anything else."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str) and value.startswith(key + ":"):
        return value[len(key) + 1:]
    return None


def webm_tags(path: str | Path) -> dict[str, str]:
    """The file's container tags, names lower-cased (the Matroska muxer upper-cases them)."""
    import av
    with av.open(str(path)) as container:
        return {key.lower(): value for key, value in container.metadata.items()}


def read_webm_workflow(path: Path) -> str | None:
    return with_sidecar(webm_tags(path).get(PNG_WORKFLOW_KEY), path)


def read_webp_workflow(path: Path) -> str | None:
    from PIL import Image
    with Image.open(path) as image:
        found = [_keyed(value, PNG_WORKFLOW_KEY) for value in image.getexif().values()]
    return with_sidecar(next((text for text in found if text), None), path)


def read_gif_workflow(path: Path) -> str | None:
    from PIL import Image
    with Image.open(path) as image:
        text = _keyed(image.info.get("comment"), PNG_WORKFLOW_KEY)
    return with_sidecar(text, path)


def is_webm(head: bytes) -> bool:
    return head.startswith(EBML_MAGIC)


def is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def is_gif(head: bytes) -> bool:
    return head[:6] in (b"GIF87a", b"GIF89a")


WORKFLOW_READERS = [
    # a sweep's contact sheet shows a WebM cell's first and last frames, as an MP4's (Pillow reads
    # WebP and GIF itself)
    WorkflowReader("WebM", (".webm", ".mkv"), read_webm_workflow, sniff=is_webm, missing="(and no .json sidecar)",
                   frames=first_and_last_frames),
    WorkflowReader("WebP", (".webp",), read_webp_workflow, sniff=is_webp, missing="(and no .json sidecar)"),
    WorkflowReader("GIF", (".gif",), read_gif_workflow, sniff=is_gif, missing="(and no .json sidecar)"),
]
