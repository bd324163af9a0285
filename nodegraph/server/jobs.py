"""The durable job queue: a state machine (pure) and its SQLite store (stdlib ``sqlite3``).

States: ``pending`` -> ``running`` -> ``success`` | ``failed`` | ``interrupted``;
``pending`` -> ``cancelled``. Jobs run in FIFO order of their queue sequence number, unless a
job was given a ``priority`` (ComfyUI's ``number``/``front``): the order is ``priority`` where
set, else ``seq``, lowest first.

Durability: every transition is committed before it is announced (WAL journal), so a kill -9
loses nothing that a client was told. On start, ``recover()`` puts a job that was ``running``
when the server died back to ``pending`` *at its original place in the queue* (it runs first,
again from the start; cached nodes are served from the cache) and counts the attempt; a job
that was already started ``MAX_ATTEMPTS`` times is marked ``failed`` with code
``server_stopped`` instead (a workflow that crashes the server does not crash it forever).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PENDING, RUNNING, SUCCESS, FAILED, INTERRUPTED, CANCELLED = (
    "pending", "running", "success", "failed", "interrupted", "cancelled")
FINAL = (SUCCESS, FAILED, INTERRUPTED, CANCELLED)
TRANSITIONS = {
    PENDING: (RUNNING, CANCELLED),
    RUNNING: (SUCCESS, FAILED, INTERRUPTED, PENDING),  # -> pending: re-queued (restart, shutdown)
}
MAX_ATTEMPTS = 3


class TransitionError(ValueError):
    pass


def check_transition(old: str, new: str) -> None:
    if new not in TRANSITIONS.get(old, ()):
        raise TransitionError(f"a {old} job cannot become {new}")


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class JobRecord:
    id: str
    seq: int
    status: str
    workflow: dict[str, Any]
    client_ref: str | None
    created: float
    started: float | None
    finished: float | None
    attempts: int
    result: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # what the queuing API keeps (ComfyUI's prompt)
    priority: float | None = None

    @property
    def number(self) -> float:
        """The place in the queue order (ComfyUI's ``number``): the priority, else the seq."""
        return self.priority if self.priority is not None else self.seq

    def summary(self) -> dict[str, Any]:
        """The history entry sent to clients (without the workflow)."""
        r = self.result
        return {"job": self.id, "status": self.status, "created": self.created, "started": self.started,
                "finished": self.finished, "attempts": self.attempts, "client_ref": self.client_ref,
                "outputs": r.get("outputs", []), "urls": r.get("urls", []), "ui": r.get("ui", {}),
                "error": r.get("error"), "executed": r.get("executed"), "cached": r.get("cached"),
                "seconds": r.get("seconds"), **({"note": r["note"]} if r.get("note") else {}),
                # a sweep job: its folder's index and contact sheet, as URLs (noted when it starts)
                **({"sweep": self.meta["sweep"]} if self.meta.get("sweep") else {})}


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    workflow TEXT NOT NULL,
    client_ref TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_status_seq ON jobs(status, seq);
"""
# Columns added after the first release: added to older files on open.
_ADDED_COLUMNS = {"meta": "TEXT NOT NULL DEFAULT '{}'", "priority": "REAL"}
_COLUMNS = "id, seq, status, workflow, client_ref, created, started, finished, attempts, result, meta, priority"
_ORDER = "COALESCE(priority, seq), seq"


class JobStore:
    """All queue state, in one SQLite file. Thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process kills
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for name, decl in _ADDED_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {decl}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- reads ---------------------------------------------------------------------------
    def _row(self, row) -> JobRecord:
        return JobRecord(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], row[7], row[8],
                         json.loads(row[9] or "{}"), json.loads(row[10] or "{}"), row[11])

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,)).fetchone()
        return self._row(row) if row else None

    def pending_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute(f"SELECT id FROM jobs WHERE status=? ORDER BY {_ORDER}", (PENDING,))]

    def running_id(self) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT id FROM jobs WHERE status=? ORDER BY seq LIMIT 1", (RUNNING,)).fetchone()
        return row[0] if row else None

    def history(self, limit: int = 50, before: int | None = None) -> list[JobRecord]:
        """Newest first; ``before`` pages by sequence number."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                (before if before is not None else 2**62, limit)).fetchall()
        return [self._row(r) for r in rows]

    def select(self, statuses: tuple[str, ...], limit: int, offset: int = 0, by: str = "queue",
               newest_first: bool = True) -> tuple[list[JobRecord], int]:
        """Jobs in ``statuses``, one page and the total: in queue order (``by="queue"``) or in the
        order they finished (``"finished"``), newest first unless ``newest_first`` is False."""
        marks = ", ".join("?" * len(statuses))
        keys = ("COALESCE(priority, seq)", "seq") if by == "queue" else ("finished", "seq")
        order = ", ".join(f"{k} DESC" if newest_first else k for k in keys)
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})", statuses).fetchone()[0]
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE status IN ({marks}) ORDER BY {order} "
                                    "LIMIT ? OFFSET ?", (*statuses, limit, offset)).fetchall()
        return [self._row(r) for r in rows], total

    def delete_finished(self, job_ids: list[str] | None = None) -> int:
        """Remove finished jobs from the history (all of them when ``job_ids`` is None)."""
        marks = ", ".join("?" * len(FINAL))
        with self._lock:
            if job_ids is None:
                cur = self._db.execute(f"DELETE FROM jobs WHERE status IN ({marks})", FINAL)
            else:
                cur = self._db.executemany(f"DELETE FROM jobs WHERE id=? AND status IN ({marks})",
                                           [(job_id, *FINAL) for job_id in job_ids])
            return cur.rowcount

    # --- writes --------------------------------------------------------------------------
    def add(self, workflow: dict[str, Any], client_ref: str | None = None, *, job_id: str | None = None,
            meta: dict[str, Any] | None = None, priority: float | None = None, front: bool = False) -> JobRecord:
        """Queue a job (committed before this returns). ``job_id``: the caller's own id (ComfyUI
        clients may choose theirs; sqlite3.IntegrityError when taken). ``priority``: its place in
        the order instead of its seq; ``front``: before every job queued so far."""
        job_id = job_id or new_job_id()
        now = time.time()
        meta = meta or {}
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO jobs (id, status, workflow, client_ref, created, meta, priority) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (job_id, PENDING, json.dumps(workflow), client_ref, now, json.dumps(meta), priority))
                seq = cur.lastrowid
                if front and priority is None:
                    lowest = self._db.execute("SELECT MIN(COALESCE(priority, seq)) FROM jobs").fetchone()[0]
                    priority = min(float(lowest), 0.0) - 1.0
                    self._db.execute("UPDATE jobs SET priority=? WHERE seq=?", (priority, seq))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return JobRecord(job_id, seq, PENDING, workflow, client_ref, now, None, None, 0, {}, meta, priority)

    def _move(self, job_id: str, old: str, new: str, **fields: Any) -> bool:
        check_transition(old, new)
        sets = ["status=?"] + [f"{k}=?" for k in fields]
        values = [new] + [json.dumps(v) if k == "result" else v for k, v in fields.items()]
        with self._lock:
            cur = self._db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id=? AND status=?",
                                   (*values, job_id, old))
            return cur.rowcount == 1

    def claim_next(self) -> JobRecord | None:
        """The oldest pending job, now running (attempts + 1), or None."""
        with self._lock:
            row = self._db.execute(f"SELECT id, attempts FROM jobs WHERE status=? ORDER BY {_ORDER} LIMIT 1",
                                   (PENDING,)).fetchone()
            if row is None:
                return None
            self._move(row[0], PENDING, RUNNING, started=time.time(), attempts=row[1] + 1)
            return self.get(row[0])

    def cancel(self, job_id: str) -> bool:
        return self._move(job_id, PENDING, CANCELLED, finished=time.time(),
                          result={"error": {"code": "cancelled", "message": "cancelled before it ran"}})

    def note(self, job_id: str, **meta: Any) -> None:
        """Add to a job's ``meta`` while it runs (a sweep's folder, for clients that come later)."""
        with self._lock:
            row = self._db.execute("SELECT meta FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is not None:
                merged = {**json.loads(row[0] or "{}"), **meta}
                self._db.execute("UPDATE jobs SET meta=? WHERE id=?", (json.dumps(merged), job_id))

    def finish(self, job_id: str, status: str, result: dict[str, Any]) -> bool:
        return self._move(job_id, RUNNING, status, finished=time.time(), result=result)

    def requeue(self, job_id: str, note: str) -> bool:
        """A running job goes back to pending at its original place (shutdown, restart)."""
        return self._move(job_id, RUNNING, PENDING, started=None, result={"note": note})

    def recover(self) -> tuple[list[str], list[str]]:
        """After a restart: re-queue jobs left running, or fail them after MAX_ATTEMPTS starts."""
        requeued, failed = [], []
        with self._lock:
            rows = self._db.execute("SELECT id, attempts FROM jobs WHERE status=? ORDER BY seq", (RUNNING,)).fetchall()
            for job_id, attempts in rows:
                if attempts >= MAX_ATTEMPTS:
                    self.finish(job_id, FAILED, {"error": {
                        "code": "server_stopped",
                        "message": f"the server stopped while running this job {attempts} times; not retried"}})
                    failed.append(job_id)
                else:
                    self.requeue(job_id, f"re-queued after the server stopped during attempt {attempts}")
                    requeued.append(job_id)
        return requeued, failed
