"""The server's recent log lines for ComfyUI's frontend (its Logs panel: ``/internal/logs``,
``/internal/logs/raw``, and ``logs`` websocket messages for clients that subscribe).

``LogTail`` is a logging handler on the ``nodegraph`` and ``aiohttp`` loggers keeping the last
``keep`` records as ComfyUI's entries (``{"t": time, "m": message}``) and passing each new one
to ``on_entry`` (the websocket side hops it onto the event loop).
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable

SIZE = {"cols": 120, "rows": 30}  # the terminal size ComfyUI reports; nodegraph has no terminal


class LogTail(logging.Handler):
    def __init__(self, keep: int = 1000, on_entry: Callable[[dict[str, Any]], None] | None = None):
        super().__init__(level=logging.INFO)
        self.entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self.on_entry = on_entry
        self._lock = threading.Lock()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = {"t": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created)),
                     "m": self.format(record) + "\n"}
        except Exception:  # noqa: BLE001 - a log line that cannot be formatted is dropped
            return
        with self._lock:
            self.entries.append(entry)
        if self.on_entry is not None:
            self.on_entry(entry)

    def text(self) -> str:
        with self._lock:
            return "".join(f"{e['t']} - {e['m']}" for e in self.entries)

    def raw(self) -> dict[str, Any]:
        with self._lock:
            return {"entries": list(self.entries), "size": dict(SIZE)}

    def attach(self, *names: str) -> None:
        """Listen to these loggers (at the level they are set to: ``nodegraph serve`` logs INFO)."""
        for name in names:
            logging.getLogger(name).addHandler(self)

    def detach(self, *names: str) -> None:
        for name in names:
            logging.getLogger(name).removeHandler(self)
