"""The worker: one thread that runs the queued jobs in FIFO order through the session API.

It claims the oldest pending job from the SQLite queue, runs it with ``session.prepare`` /
``session.execute`` (the same calls as ``nodegraph run``), records the result and moves on. It
knows nothing about websockets: events go to ``sink_for(job_id)`` and every start or end of a
job is announced through ``on_change()``; the server turns both into frames.
"""
from __future__ import annotations

import logging
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from ..api.errors import WorkflowInvalid
from ..run.context import InterruptToken
from ..run.error_log import ErrorLog, one_line
from ..run.events import Sink
from ..run.executor import RunResult
from ..run.session import Session
from . import jobs as jobstates
from . import protocol
from .jobs import JobRecord, JobStore
from .warmup import run_warmups

log = logging.getLogger("nodegraph.server")


class Worker(threading.Thread):
    def __init__(self, store: JobStore, session: Session, output_dir: Path,
                 sink_for: Callable[[str], Sink], on_change: Callable[[], None],
                 warmups: tuple[Path, ...] = (), error_log: ErrorLog | None = None):
        super().__init__(name="nodegraph-worker", daemon=True)
        self.error_log = error_log  # tracebacks of failed nodes and crashed jobs (error_log.py)
        self.warmups = warmups  # run once before the first job (warmup.py)
        self.warmed: list[dict] = []  # their summaries, once run
        self._warm_token = InterruptToken()
        self.store = store
        self.session = session
        self.output_dir = Path(output_dir)
        self.sink_for = sink_for
        self.on_change = on_change
        self._cond = threading.Condition()
        self._lock = threading.Lock()
        self._stopping = False
        self.current: tuple[str, InterruptToken] | None = None
        # Jobs whose output files are still being written are completed here, in order, while
        # the worker runs the next one.
        self._finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nodegraph-finisher")

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop after the running job; that job is interrupted and goes back to the queue."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._warm_token.set()
        with self._lock:
            if self.current is not None:
                self.current[1].set()

    def interrupt(self, job_id: str | None) -> str | None:
        """Interrupt the running job (any, or only ``job_id``); its id, or None if none matched."""
        with self._lock:
            if self.current is None or (job_id is not None and self.current[0] != job_id):
                return None
            self.current[1].set()
            return self.current[0]

    def run(self) -> None:
        try:
            if self.warmups:  # jobs queued meanwhile wait: they would wait for the same loading
                self.warmed = run_warmups(self.session, self.warmups, self._warm_token)
            self._loop()
        finally:
            self._finisher.shutdown(wait=True)  # every job's files written and result recorded

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
            token = InterruptToken()
            with self._lock:
                record = self.store.claim_next()
                self.current = (record.id, token) if record is not None else None
            if record is None:
                with self._cond:
                    if not self._stopping:
                        self._cond.wait(timeout=1.0)
                continue
            self.on_change()
            try:
                self._run(record, token)
            finally:
                with self._lock:
                    self.current = None
                self.on_change()

    def _run(self, record: JobRecord, token: InterruptToken) -> None:
        emit = self.sink_for(record.id)
        done: list[dict] = []
        files: dict[str, list[str]] = {}  # node -> files it wrote (or its cache entry holds)

        def sink(event: dict) -> None:
            if event.get("event") in ("executed", "cached") and event.get("outputs"):
                files[event["node"]] = [str(p) for p in event["outputs"]]
            # ``done`` waits until the result is committed: a client that reads the history
            # when it sees ``done`` finds the job finished, never still running.
            if event.get("event") == "error" and self.error_log is not None:
                self.error_log(event)
            if event.get("event") == "sweep":  # a canvas opened later rebuilds the sweep's grid from it
                self.store.note(record.id, sweep=protocol.sweep_note(event, self.output_dir))
            (done.append if event.get("event") == "done" else emit)(event)

        try:
            job = self.session.prepare(record.workflow, sink=sink, interrupt=token, job_id=record.id)
        except WorkflowInvalid as exc:  # files changed since it was queued, ...
            problems = [p.to_json() for p in exc.problems]
            error = {"code": "invalid_workflow", "message": "the workflow is no longer valid", "problems": problems}
            self.store.finish(record.id, jobstates.FAILED, {"error": error})
            emit({"event": "error", "kind": "validation", "message": error["message"], "problems": problems,
                  "job": record.id})
            emit(_failed_done(record.id))
            return
        except Exception as exc:  # noqa: BLE001
            self._crash(record, exc, emit)
            return
        job.finish_later = True
        try:
            result = self.session.execute(job)
        except Exception as exc:  # noqa: BLE001 - the executor itself failed; keep serving
            self._crash(record, exc, emit)
            return
        if result.finish is None:
            self._complete(record, result, done, emit, files)
        else:  # its files are still being written: record it once they are, run the next job now
            self._finisher.submit(self._complete, record, result, done, emit, files, True)

    def _complete(self, record: JobRecord, result: RunResult, done: list[dict], emit: Sink,
                  files: dict[str, list[str]], behind: bool = False) -> None:
        try:
            if result.finish is not None:
                result.finish()  # waits for the files, emits the job's last events
            self._record(record, result, files)
        except Exception as exc:  # noqa: BLE001 - keep serving
            done.clear()
            self._crash(record, exc, emit)
            return
        finally:
            for event in done:
                emit(event)
            if behind:
                self.on_change()

    def _record(self, record: JobRecord, result: RunResult, files: dict[str, list[str]]) -> None:
        if result.status == "interrupted" and self._stopping:
            self.store.requeue(record.id, "re-queued: the server stopped while it ran")
            return
        names = [protocol.output_url(p, self.output_dir) for p in result.outputs]
        kept = {str(p) for p in result.outputs}
        error = None
        if result.error:
            error = {k: v for k, v in result.error.items() if k not in ("event", "job")}
            error["traceback"] = str(error.get("traceback", ""))[-8000:]
        self.store.finish(record.id, result.status, {
            "outputs": [n[len("/output/"):] for n in names if n],
            "urls": [n for n in names if n],
            "ui": result.ui, "error": error, "executed": len(result.executed), "cached": len(result.cached),
            "seconds": round(result.seconds, 6),
            # per node, for APIs that report outputs node by node (ComfyUI's history)
            "files": {node: [p for p in paths if p in kept] for node, paths in files.items()},
            "nodes": {"executed": list(result.executed), "cached": list(result.cached)}})

    def _crash(self, record: JobRecord, exc: BaseException, emit: Sink) -> None:
        error = {"code": "internal", "message": f"{type(exc).__name__}: {one_line(str(exc))}",
                 "traceback": "".join(traceback.format_exception(exc))[-8000:]}
        event = {"event": "error", "message": error["message"], "exception": type(exc).__name__,
                 "traceback": error["traceback"], "job": record.id}
        where = f"; traceback in {self.error_log.path}" if self.error_log is not None else ""
        log.error("job %s crashed: %s (traceback in the job's record%s)", record.id, error["message"], where)
        if self.error_log is not None:
            self.error_log(event)
        self.store.finish(record.id, jobstates.FAILED, {"error": error})
        emit(event)
        emit(_failed_done(record.id))


def _failed_done(job_id: str) -> dict:
    return {"event": "done", "status": "failed", "executed": 0, "cached": 0, "seconds": 0.0, "outputs": [],
            "job": job_id}
