"""Where the tracebacks of failed nodes go: a log file, so the terminal gets one line per failure.

``nodegraph run`` appends to ``<cache dir>/logs/errors.log`` (``--traceback`` also prints it);
``nodegraph serve`` to ``<data dir>/errors.log`` (and keeps it in the job's record and the
``error`` event's ``traceback``). The file is rotated at ``MAX_BYTES`` (one ``.1`` kept), and a
log that cannot be written never fails a run.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

MAX_BYTES = 1 << 20
DEFAULT_NAME = "errors.log"


def one_line(text: str, limit: int = 1000) -> str:
    """A message on one line (an exception's text may span several), at most ``limit`` characters."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    joined = " | ".join(lines)
    return joined if len(joined) <= limit else joined[:limit - 3] + "..."


class ErrorLog:
    """An event sink: every ``error`` event that carries a traceback is appended to ``path``."""

    def __init__(self, path: str | Path, max_bytes: int = MAX_BYTES):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("event") == "error" and event.get("traceback"):
            self.write(event)

    def write(self, event: dict[str, Any]) -> None:
        where = f"node {event['node']!r} ({event.get('node_type')})" if event.get("node") else "job"
        head = (f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} job {event.get('job')} {where}: "
                f"{event.get('exception') or 'error'}: {one_line(event.get('message', ''))}\n")
        text = head + str(event["traceback"]).rstrip() + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.path.exists() and self.path.stat().st_size + len(text) > self.max_bytes:
                    os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(text)
        except OSError:  # a full disk or a read-only home: the run goes on, its error line stays
            pass
