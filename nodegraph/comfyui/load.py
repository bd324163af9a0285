"""Reading a workflow from any file a user has: nodegraph's own (JSON, or a PNG/MP4 that embeds
it) or ComfyUI's (UI or API format JSON, a PNG with ``workflow``/``prompt`` text chunks, an
animated WebP whose EXIF holds them as SaveAnimatedWEBP writes them).

A ComfyUI file with both the UI workflow and the API prompt is read from the UI workflow (layout,
groups, titles) and, when that does not convert, from the prompt. The original UI workflow rides
along in the native workflow's ``ui.comfyui.workflow``: outputs saved for ComfyUI embed it again.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..api.errors import Problem, WorkflowInvalid
from ..api.readers import HEAD_BYTES
from ..api.registry import Registry
from ..graph.workflow import Workflow, load_workflow, parse_workflow, strict_json
from .api_format import api_to_workflow, is_api_prompt
from .classes import keep_needed
from .ui_format import is_ui_workflow, ui_to_workflow

COMFY_WORKFLOW_KEY, COMFY_PROMPT_KEY = "workflow", "prompt"  # PNG text chunks, WebP EXIF prefixes
EXIF_PROMPT_TAG, EXIF_WORKFLOW_TAG = 0x0110, 0x010F  # where SaveAnimatedWEBP puts them
STASH_KEY = "comfyui"  # ui.comfyui = {"workflow": the ComfyUI UI workflow it came from}


def is_webp(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def source_format(data: Any) -> str:
    """``native``, ``comfyui-ui``, ``comfyui-api`` or ``unknown`` for decoded JSON."""
    if isinstance(data, dict) and "format" in data:
        return "native"
    if is_ui_workflow(data):
        return "comfyui-ui"
    if is_api_prompt(data):
        return "comfyui-api"
    return "unknown"


def native_from_data(data: Any, registry: Registry, *, keep_original: bool = True, to_run: bool = True) -> dict:
    """Native workflow JSON from decoded JSON of any supported format (native passes as it is).

    ``keep_original``: a ComfyUI UI workflow is kept in ``ui.comfyui.workflow`` (for outputs that
    embed it for ComfyUI). ``to_run``: a ComfyUI file keeps only the nodes its outputs need, as
    ComfyUI runs it (the canvas and ``convert`` keep every node).
    """
    kind = source_format(data)
    if kind == "comfyui-ui":
        native = ui_to_workflow(data, registry)
        if keep_original:
            native.setdefault("ui", {})[STASH_KEY] = {"workflow": data}
    elif kind == "comfyui-api":
        native = api_to_workflow(data, registry)
    else:
        return data  # native, or nothing known: parse_workflow names what is wrong
    return keep_needed(native, registry) if to_run else native


def workflow_from_data(data: Any, registry: Registry) -> Workflow:
    """``native_from_data`` parsed: every problem a WorkflowInvalid."""
    return parse_workflow(native_from_data(data, registry))


def comfy_pair(workflow_text: str | None, prompt_text: str | None, registry: Registry, name: str, *,
               to_run: bool = True) -> dict:
    """Native workflow JSON from ComfyUI's embedded UI workflow and API prompt texts: the UI
    workflow when it converts, else the prompt (the UI workflow's problems when neither does)."""
    first_error: WorkflowInvalid | None = None
    for text, kind in ((workflow_text, "workflow"), (prompt_text, "prompt")):
        if not text:
            continue
        try:
            data = strict_json(text)
        except ValueError as exc:
            first_error = first_error or WorkflowInvalid([Problem("bad_json", f"{name}: its embedded ComfyUI "
                                                                              f"{kind} is not valid JSON: {exc}")])
            continue
        try:
            if source_format(data) == "native":  # a saver that embedded nodegraph's own workflow there
                return data
            if (kind == "workflow" and is_ui_workflow(data)) or (kind == "prompt" and is_api_prompt(data)):
                return native_from_data(data, registry, to_run=to_run)
        except WorkflowInvalid as exc:
            first_error = first_error or exc
            continue
    if first_error is not None:
        raise first_error
    raise WorkflowInvalid([Problem("bad_format", f"{name} holds no workflow (neither nodegraph's nor ComfyUI's)")])


def load(source: Workflow | dict | str | Path, registry: Registry) -> Workflow:
    """The session's loader (``Session(loader=load)``): a parsed workflow as it is, JSON of any
    supported format, or a file of any supported kind."""
    if isinstance(source, Workflow):
        return source
    if isinstance(source, dict):
        return workflow_from_data(source, registry)
    return load_any(source, registry)


def load_any(source: str | Path, registry: Registry, *, to_run: bool = True) -> Workflow:
    """A workflow from a file of any supported kind, as nodegraph runs it (``to_run``: a ComfyUI
    file without the nodes its outputs do not need, as ComfyUI runs it; else every node).

    JSON is read here; any other file first by the packs' readers (nodegraph's own PNG and MP4),
    then, when they find no nodegraph workflow in it, as a ComfyUI PNG or WebP.
    """
    path = Path(source)
    name = str(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except FileNotFoundError:
        raise WorkflowInvalid([Problem("not_found", f"workflow file {name!r} does not exist")]) from None
    except OSError as exc:
        raise WorkflowInvalid([Problem("unreadable", f"cannot read {name!r}: {exc}")]) from None
    if not head.lstrip().startswith((b"{", b"[")):
        try:
            return load_workflow(path, registry.workflow_readers)
        except WorkflowInvalid as exc:
            texts = comfy_embedded_texts(path, head)
            if not (texts.get(COMFY_WORKFLOW_KEY) or texts.get(COMFY_PROMPT_KEY)):
                raise exc from None
        return parse_workflow(comfy_pair(texts.get(COMFY_WORKFLOW_KEY), texts.get(COMFY_PROMPT_KEY), registry, name,
                                         to_run=to_run))
    try:
        data = strict_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return load_workflow(path, registry.workflow_readers)  # its own reading names the problem
    return parse_workflow(native_from_data(data, registry, to_run=to_run))


def comfy_embedded_texts(path: Path, head: bytes) -> dict[str, str]:
    """ComfyUI's ``workflow``/``prompt`` texts in a PNG (text chunks) or a WebP (EXIF); {} when
    the file is neither or cannot be read as one."""
    try:
        if head.startswith(PNG_SIGNATURE):
            return _png_text(path)
        if is_webp(head):
            return webp_texts(path)
    except WorkflowInvalid:
        return {}
    return {}


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_text(path: Path) -> dict[str, str]:
    from PIL import Image
    try:
        with Image.open(path) as img:
            return {k: v for k, v in img.info.items() if isinstance(v, str)}
    except OSError as exc:
        raise WorkflowInvalid([Problem("unreadable", f"cannot read PNG {str(path)!r}: {exc}")]) from None


def webp_texts(path: Path) -> dict[str, str]:
    """``{"prompt": text, "workflow": text, ...}`` from an animated WebP's EXIF, where ComfyUI's
    SaveAnimatedWEBP writes each as ``"<key>:<json>"`` (0x0110 the prompt, 0x010F down the rest)."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            exif = img.getexif()
    except OSError as exc:
        raise WorkflowInvalid([Problem("unreadable", f"cannot read WebP {str(path)!r}: {exc}")]) from None
    texts: dict[str, str] = {}
    for tag, value in exif.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if not isinstance(value, str) or ":" not in value:
            continue
        key, _, text = value.partition(":")
        if key and text.lstrip().startswith(("{", "[")):
            texts.setdefault(key, text)
    return texts


def import_message(msg: dict, registry: Registry) -> dict:
    """What a canvas opens for a file it was given (the server's ``import`` message): the JSON of
    the file (``data``) or the ``workflow``/``prompt`` texts a PNG or WebP embeds, converted
    with every node kept -> ``{"workflow": native JSON, "source": format}``."""
    if "data" in msg:
        source = source_format(msg["data"])
        native = native_from_data(msg["data"], registry, to_run=False)
    else:
        source = "comfyui"
        native = comfy_pair(msg.get("workflow"), msg.get("prompt"), registry, msg.get("name") or "the file",
                            to_run=False)
    return {"workflow": parse_workflow(native).to_json(), "source": source}


def without_original(data: dict) -> dict:
    """Native workflow JSON without the ComfyUI UI workflow it carries (``convert`` writes this)."""
    ui = data.get("ui")
    if not isinstance(ui, dict) or STASH_KEY not in ui:
        return data
    ui = {k: v for k, v in ui.items() if k != STASH_KEY}
    out = {k: v for k, v in data.items() if k != "ui"}
    if ui:
        out["ui"] = ui
    return out


def original_ui_workflow(workflow: dict) -> dict | None:
    """The ComfyUI UI workflow a native workflow was converted from, if it carries it."""
    stash = (workflow.get("ui") or {}).get(STASH_KEY) if isinstance(workflow.get("ui"), dict) else None
    original = stash.get("workflow") if isinstance(stash, dict) else None
    return original if isinstance(original, dict) else None


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"
