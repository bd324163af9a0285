"""Output files written on worker threads, whole or not at all.

Encoding an output can cost as much as computing it: a 1024² PNG of a random-weight image
takes ~180 ms on a server CPU against ~160 ms for the image itself in fast mode. Output nodes
hand each file to ``OutputWriter.submit`` as a function that writes a temporary file; the
writer renames it over the real name once complete, so no reader (the canvas, a cache check,
a crashed server's next start) ever sees half a file. In a server the job goes on at once and
its ``done`` waits for its files (the worker starts the next job meanwhile); elsewhere the node
waits, with a batch's files written at once (encoders release the GIL).

Writes of the same path run one after another, in the order submitted.
"""
from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable


class OutputWriter:
    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads or min(8, os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._last: dict[Path, Future] = {}  # the newest write of each path
        self._lock = threading.Lock()

    def submit(self, path: Path, write: Callable[[Path], None]) -> Future:
        """Run ``write(temporary path)`` on a worker thread, then move the file to ``path``."""
        path = Path(path)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="nodegraph-writer")
            before = self._last.get(path)
            future = self._pool.submit(self._write, path, write, before)
            self._last[path] = future
        future.add_done_callback(lambda f: self._forget(path, f))
        return future

    def pending(self, path: Path) -> bool:
        """A write of ``path`` is submitted and not finished yet."""
        with self._lock:
            return Path(path) in self._last

    @staticmethod
    def _write(path: Path, write: Callable[[Path], None], before: Future | None) -> None:
        if before is not None:
            try:
                before.result()  # same path: keep the submitted order (outcome is its own job's)
            except Exception:  # noqa: BLE001
                pass
        # Hidden, unique, and with the real suffix (encoders pick the container by it).
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{path.suffix}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
            os.replace(tmp, path)
        except Exception as exc:
            raise OSError(f"cannot write {path}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def _forget(self, path: Path, future: Future) -> None:
        with self._lock:
            if self._last.get(path) is future:
                del self._last[path]

    def close(self) -> None:
        """Wait for every submitted write, then stop the threads."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
