"""Jobs of the durable queue in ComfyUI's shapes: history items, queue items, output file
references and the newer ``/api/jobs`` records. Pure: the caller reads the records.

Every job is listed, whichever API queued it. A job queued through ``POST /prompt`` keeps
ComfyUI's prompt, ``extra_data`` and ``number`` in its record (``JobRecord.meta["comfyui"]``);
a job queued natively is written as an API prompt by ``workflow_to_api``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".m4v")
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".m4a")
# Keys of extra_data that carry credentials: never stored or echoed (ComfyUI drops them too).
SENSITIVE_EXTRA = ("auth_token_comfy_org", "api_key_comfy_org")
FINISHED = ("success", "failed", "interrupted")


def safe_extra(extra_data: Any) -> dict[str, Any]:
    if not isinstance(extra_data, dict):
        return {}
    return {k: v for k, v in extra_data.items() if k not in SENSITIVE_EXTRA}


def file_ref(path: str | Path, folders: dict[str, Path]) -> dict[str, str] | None:
    """``{filename, subfolder, type}`` of a file inside one of ``folders`` (type -> folder)."""
    resolved = Path(path).resolve()
    for kind, folder in folders.items():
        try:
            rel = resolved.relative_to(Path(folder).resolve())
        except (ValueError, OSError):
            continue
        parent = rel.parent.as_posix()
        return {"filename": rel.name, "subfolder": "" if parent == "." else parent, "type": kind}
    return None


def node_output(paths: list[str], ui: dict[str, Any], folders: dict[str, Path]) -> dict[str, Any]:
    """One output node's entry: ``{"images": [refs], "animated": [..], "audio": [...], "text": [...]}``.

    Still images are ``images``; videos and animated files are ``images`` too with
    ``animated: [true]``, as ComfyUI's own SaveVideo / SaveAnimatedWEBP report them.
    """
    out: dict[str, Any] = {}
    animated = False
    for path in paths:
        ref = file_ref(path, folders)
        if ref is None:
            continue
        suffix = Path(path).suffix.lower()
        if suffix in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            out.setdefault("images", []).append(ref)
            animated = animated or suffix in VIDEO_SUFFIXES or suffix == ".gif"
        elif suffix in AUDIO_SUFFIXES:
            out.setdefault("audio", []).append(ref)
        else:
            out.setdefault("files", []).append(ref)
    if animated:
        out["animated"] = [True]
    for key, value in (ui or {}).items():
        if key in ("images", "videos", "files"):  # names of the files listed above
            continue
        out[key] = value if isinstance(value, list) else [value]
    return out


def outputs_of(result: dict[str, Any], folders: dict[str, Path]) -> dict[str, Any]:
    """Every output node's entry for a finished job's result."""
    files: dict[str, list[str]] = result.get("files") or {}
    ui: dict[str, dict] = result.get("ui") or {}
    out = {}
    for node in list(dict.fromkeys([*files, *ui])):
        entry = node_output(files.get(node, []), ui.get(node, {}), folders)
        if entry:
            out[node] = entry
    return out


class Shapes:
    """Records -> ComfyUI's shapes. ``to_api(workflow)``: a native workflow as an API prompt."""

    def __init__(self, folders: dict[str, Path], to_api: Callable[[dict], dict],
                 output_nodes: Callable[[dict], list[str]]):
        self.folders = folders
        self.to_api = to_api
        self.output_nodes = output_nodes

    def comfy(self, record) -> dict[str, Any]:
        return (record.meta or {}).get("comfyui") or {}

    def workflow_id(self, record) -> str | None:
        """The UI workflow's id the frontend sent with the prompt (``extra_data.extra_pnginfo.workflow.id``)."""
        extra = self.comfy(record).get("extra_data")
        info = extra.get("extra_pnginfo") if isinstance(extra, dict) else None
        workflow = info.get("workflow") if isinstance(info, dict) else None
        found = workflow.get("id") if isinstance(workflow, dict) else None
        return found if isinstance(found, str) and found else None

    def prompt_tuple(self, record) -> list[Any]:
        """``[number, prompt_id, prompt, extra_data, outputs_to_execute]``."""
        comfy = self.comfy(record)
        prompt = comfy.get("prompt")
        if prompt is None:
            try:
                prompt = self.to_api(record.workflow)
            except Exception:  # noqa: BLE001 - a workflow ComfyUI cannot express: its nodes as they are
                prompt = {nid: {"class_type": n.get("type"), "inputs": {}}
                          for nid, n in (record.workflow.get("nodes") or {}).items()}
        outputs = comfy.get("outputs") or self.output_nodes(record.workflow)
        return [_number(comfy.get("number", record.number)), record.id, prompt, comfy.get("extra_data") or {},
                outputs]

    def messages(self, record) -> list[list[Any]]:
        """``status.messages``: the prompt's ComfyUI messages, rebuilt from the stored result."""
        r = record.result or {}
        start = _ms(record.started or record.created)
        end = _ms(record.finished or record.started or record.created)
        out: list[list[Any]] = [["execution_start", {"prompt_id": record.id, "timestamp": start}]]
        cached = (r.get("nodes") or {}).get("cached") or []
        out.append(["execution_cached", {"nodes": cached, "prompt_id": record.id, "timestamp": start}])
        if record.status == "success":
            out.append(["execution_success", {"prompt_id": record.id, "timestamp": end}])
        elif record.status == "interrupted":
            out.append(["execution_interrupted", {"prompt_id": record.id, "node_id": (r.get("error") or {}).get("node"),
                                                  "node_type": (r.get("error") or {}).get("node_type"),
                                                  "executed": (r.get("nodes") or {}).get("executed") or [],
                                                  "timestamp": end}])
        else:
            out.append(["execution_error", execution_error(record.id, r.get("error") or {},
                                                           (r.get("nodes") or {}).get("executed") or [], end)])
        return out

    def history_item(self, record) -> dict[str, Any]:
        status_str = "success" if record.status == "success" else "error"
        outputs = outputs_of(record.result or {}, self.folders)
        nodes = set(outputs) | set(((record.result or {}).get("nodes") or {}).get("executed") or [])
        return {"prompt": self.prompt_tuple(record), "outputs": outputs,
                "status": {"status_str": status_str, "completed": record.status == "success",
                           "messages": self.messages(record)},
                "meta": {n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n}
                         for n in sorted(nodes)}}

    # --- /api/jobs ---------------------------------------------------------------------
    def job(self, record, detail: bool = False) -> dict[str, Any]:
        status = job_status(record.status)
        comfy = self.comfy(record)
        extra = comfy.get("extra_data") or {}
        job: dict[str, Any] = {"id": record.id, "status": status, "priority": _number(comfy.get("number", record.number)),
                               "create_time": _ms(record.created)}
        workflow_id = self.workflow_id(record)
        if workflow_id:
            job["workflow_id"] = workflow_id
        outputs: dict[str, Any] = {}
        if record.status in FINISHED:
            outputs = outputs_of(record.result or {}, self.folders)
            job["execution_start_time"] = _ms(record.started) if record.started else None
            job["execution_end_time"] = _ms(record.finished) if record.finished else None
            if record.status == "failed":
                job["execution_error"] = execution_error(record.id, (record.result or {}).get("error") or {},
                                                         ((record.result or {}).get("nodes") or {}).get("executed")
                                                         or [], _ms(record.finished or record.created))
        count, preview, previewable = summarise(outputs)
        job["outputs_count"] = count
        job["previewable_outputs_count"] = previewable
        if preview is not None:
            job["preview_output"] = preview
        if detail:
            prompt = self.prompt_tuple(record)
            job["workflow"] = {"prompt": prompt[2], "extra_data": prompt[3]}
            job["outputs"] = outputs
            job["update_time"] = _ms(record.finished or record.started or record.created)
            if record.status in FINISHED:
                item = self.history_item(record)
                job["execution_status"] = item["status"]
        return job


def job_status(status: str) -> str:
    return {"pending": "pending", "running": "in_progress", "success": "completed", "failed": "failed",
            "interrupted": "failed", "cancelled": "cancelled"}.get(status, "failed")


def summarise(outputs: dict[str, Any]) -> tuple[int, dict | None, int]:
    """(count of output items, the first previewable one with nodeId/mediaType, previewable count)."""
    count = previewable = 0
    preview = None
    for node, entry in outputs.items():
        for media, items in entry.items():
            if media == "animated" or not isinstance(items, list):
                continue
            for item in items:
                if not isinstance(item, dict):
                    continue
                count += 1
                if media in ("images", "video", "audio"):
                    previewable += 1
                    if preview is None:
                        preview = {**item, "nodeId": node, "mediaType": media}
    return count, preview, previewable


def execution_error(prompt_id: str, error: dict[str, Any], executed: list[str], timestamp: int) -> dict[str, Any]:
    """ComfyUI's ``execution_error`` data from nodegraph's error (a node's exception, a workflow
    that no longer validated, a server that stopped)."""
    traceback = error.get("traceback") or ""
    if error.get("problems"):
        node = error["problems"][0].get("node")
        message = "; ".join(p.get("message", "") for p in error["problems"])
    else:
        node, message = error.get("node"), error.get("message") or ""
    return {"prompt_id": prompt_id, "node_id": node or "", "node_type": error.get("node_type") or "",
            "executed": list(executed), "exception_message": message,
            "exception_type": error.get("exception") or error.get("code") or "Error",
            "traceback": traceback.splitlines(keepends=True) if isinstance(traceback, str) else list(traceback),
            "current_inputs": {}, "current_outputs": {}, "timestamp": timestamp}


def _ms(seconds: float | None) -> int:
    return int((seconds or 0) * 1000)


def _number(value: Any) -> Any:
    """ComfyUI's numbers are integers when whole."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
