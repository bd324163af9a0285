"""On-disk cache of LLM responses, one JSON file per call.

Key = hash(backend kind, backend identity (base URL or local model fingerprint), model,
messages, sampling parameters). Each answer is written to a temporary file and renamed the
moment it arrives, so a run that crashes, is interrupted or killed keeps every finished answer
and a rerun pays only for the rest. A corrupt file is a miss and is rewritten. Without a folder
(``--no-cache``) answers live in memory for the session only.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from nodegraph.files.roots import atomic_write


def call_key(kind: str, identity: str, model: str, messages: list[dict], params: dict) -> str:
    # The API key, timeouts, retries and concurrency are deliberately absent: they do not change
    # the answer, and the key must never reach anything that is stored.
    material = {"kind": kind, "identity": identity, "model": model, "messages": messages, "params": params}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LLMCache:
    def __init__(self, folder: Path | str | None):
        self.folder = Path(folder) if folder is not None else None
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None:
            with self._lock:
                return self._memory.get(key)
        try:
            value = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(value, dict) or value.get("key") != key or not isinstance(value.get("content"), str):
            return None  # corrupt or foreign: treated as a miss and overwritten by the next put
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        value = {**value, "key": key}
        if self.folder is None:  # only then in memory: a long server session must not grow without bound
            with self._lock:
                self._memory[key] = value
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(value, ensure_ascii=False))
