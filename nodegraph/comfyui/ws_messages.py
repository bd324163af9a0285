"""nodegraph's job events as ComfyUI's websocket messages (pure; the routes send them).

One ``PromptMessages`` per job turns each native event into ComfyUI's ``(type, data)``
messages, in ComfyUI's order:

    start     -> execution_start
    cached    -> execution_cached (consecutive cached nodes in one message), and ``executed``
                 for a cached output node (ComfyUI reports its outputs again)
    executing -> executing {node, display_node}, progress_state
    progress  -> progress {value, max, node}, progress_state
    executed  -> executed {node, display_node, output} (only when the node has outputs),
                 progress_state
    error     -> execution_error
    interrupted -> execution_interrupted
    done      -> execution_success (when it succeeded)

``progress_state`` (newer ComfyUI; its frontend draws the running node and its progress bar
from it) carries every node that has started: ``running`` with its value/max, ``finished``, or
``error``. The caller then sends ``status`` and ``executing`` with ``node: null``, the end of the prompt
clients wait for. Binary frames (previews) use ComfyUI's framing: a 4-byte big-endian event
type (1: preview image) and a 4-byte image format (1: JPEG, 2: PNG) before the bytes.
"""
from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

from .history import execution_error, node_output

PREVIEW_IMAGE = 1
FORMAT_JPEG, FORMAT_PNG = 1, 2

Message = tuple[str, dict[str, Any]]


def dumps(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"type": kind, "data": data}, separators=(",", ":"), default=str)


def status_data(queue_remaining: int, sid: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"status": {"exec_info": {"queue_remaining": queue_remaining}}}
    if sid is not None:
        data["sid"] = sid
    return data


def preview_frame(image: bytes, fmt: int) -> bytes:
    """A binary websocket frame holding a preview image, framed as ComfyUI frames it."""
    return struct.pack(">II", PREVIEW_IMAGE, fmt) + image


def _now_ms() -> int:
    return int(time.time() * 1000)


class PromptMessages:
    """Translates one job's native events. ``node_types``: node id -> the class its caller knows."""

    def __init__(self, prompt_id: str, folders: dict[str, Path], node_types: dict[str, str] | None = None):
        self.prompt_id = prompt_id
        self.folders = folders
        self.node_types = node_types or {}
        self.executed: list[str] = []
        self.current: str | None = None  # the node running now (for a client that reconnects)
        self._cached: list[str] = []
        self._cached_outputs: list[Message] = []
        self.finished = False
        self.states: dict[str, dict[str, Any]] = {}  # node -> its progress_state entry

    def _state(self, node: str, state: str, value: float = 0, maximum: float = 1) -> None:
        self.states[node] = {"value": value, "max": maximum, "state": state, "node_id": node,
                             "prompt_id": self.prompt_id, "display_node_id": node, "parent_node_id": None,
                             "real_node_id": node}

    def _progress_state(self) -> Message:
        return ("progress_state", {"prompt_id": self.prompt_id, "nodes": {k: dict(v) for k, v in self.states.items()}})

    def _flush(self) -> list[Message]:
        if not self._cached:
            return []
        out: list[Message] = [("execution_cached", {"nodes": list(self._cached), "prompt_id": self.prompt_id,
                                                    "timestamp": _now_ms()})]
        out += self._cached_outputs
        self._cached, self._cached_outputs = [], []
        return out

    def _executed(self, event: dict[str, Any]) -> list[Message]:
        output = node_output([str(p) for p in event.get("outputs") or ()], event.get("ui") or {}, self.folders)
        if not output:
            return []
        node = event["node"]
        return [("executed", {"node": node, "display_node": node, "output": output, "prompt_id": self.prompt_id})]

    def on_event(self, event: dict[str, Any]) -> list[Message]:
        kind = event.get("event")
        pid = self.prompt_id
        if kind == "start":
            return [("execution_start", {"prompt_id": pid, "timestamp": _now_ms()})]
        if kind == "cached":
            self._cached.append(event["node"])
            self._state(event["node"], "finished", 1, 1)
            self._cached_outputs += self._executed(event)
            return []
        out = self._flush()
        if kind == "executing":
            self.current = event["node"]
            out.append(("executing", {"node": event["node"], "display_node": event["node"], "prompt_id": pid}))
            self._state(event["node"], "running")
            out.append(self._progress_state())
        elif kind == "progress":
            out.append(("progress", {"value": event.get("value"), "max": event.get("max"), "prompt_id": pid,
                                     "node": event.get("node")}))
            if event.get("node"):
                self._state(event["node"], "running", event.get("value") or 0, event.get("max") or 1)
                out.append(self._progress_state())
        elif kind == "executed":
            self.executed.append(event["node"])
            self._state(event["node"], "finished", 1, 1)
            out += self._executed(event)
            out.append(self._progress_state())
        elif kind == "error":
            error = dict(event)
            if error.get("node") and not error.get("node_type"):
                error["node_type"] = self.node_types.get(error["node"], "")
            if error.get("exception") is None and error.get("kind") == "validation":
                error["code"] = "invalid_workflow"
            if error.get("node") in self.states:
                self.states[error["node"]]["state"] = "error"
                out.append(self._progress_state())
            out.append(("execution_error", execution_error(pid, error, self.executed, _now_ms())))
        elif kind == "interrupted":
            node = event.get("node")
            out.append(("execution_interrupted", {"prompt_id": pid, "node_id": node,
                                                  "node_type": self.node_types.get(node or "", ""),
                                                  "executed": list(self.executed), "timestamp": _now_ms()}))
        elif kind == "done":
            self.finished = True
            self.current = None
            if event.get("status") == "success":
                out.append(("execution_success", {"prompt_id": pid, "timestamp": _now_ms()}))
        return out

    def end(self) -> Message:
        """``executing`` with ``node: null``: the prompt is over (after ``status``)."""
        return ("executing", {"node": None, "display_node": None, "prompt_id": self.prompt_id})
