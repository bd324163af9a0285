"""The websocket messages, without I/O: one pure handler per message type, in one table.

A handler takes the server's ``Services`` (the queue store and a few callables), the
connection's ``Connection`` state and the checked request dict, and returns an ``Outcome``:
the replies for this connection plus the effects the I/O layer performs afterwards (broadcast
the queue status, wake the worker). It never touches a socket, so every message is unit-tested
without one. Slow work (validating a workflow, walking a folder) is a route's ``prepare`` step,
which the I/O layer runs off the event loop before the handler; its result is the handler's
``prepared`` argument. Errors are ``ProtocolError``\\s, sent back as ``error`` frames.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ..api.errors import WorkflowInvalid
from . import protocol
from .jobs import JobRecord
from .protocol import ProtocolError

MAX_LISTING = 5000


class JobQueue(Protocol):
    """What the handlers use of ``jobs.JobStore``."""

    def add(self, workflow: dict, client_ref: str | None = None) -> JobRecord: ...
    def get(self, job_id: str) -> JobRecord | None: ...
    def cancel(self, job_id: str) -> bool: ...
    def history(self, limit: int = 50, before: int | None = None) -> list[JobRecord]: ...
    def pending_ids(self) -> list[str]: ...
    def running_id(self) -> str | None: ...


@dataclass
class Services:
    """Everything the handlers may consult or change, injected by the server (fakes in tests)."""
    store: JobQueue
    catalogue: dict[str, Any]
    file_extensions: dict[str, tuple[str, ...]]  # file kind -> extensions the pickers list
    validate: Callable[[dict], None]  # raises WorkflowInvalid; blocking (a prepare step)
    list_files: Callable[[str, tuple[str, ...]], list[str]]  # blocking (a prepare step)
    interrupt: Callable[[str | None], str | None]  # the running job's id if it was interrupted
    instance: str = ""  # changes when the server restarts
    server: str = ""  # "nodegraph <version>"
    token: str | None = None
    limits: dict[str, int] = field(default_factory=dict)
    clock: Callable[[], float] = lambda: 0.0
    # import's conversion: the message -> {"workflow": native JSON, "source": format}; raises
    # WorkflowInvalid; blocking (a prepare step). None: this server converts nothing.
    convert: Callable[[dict], dict] | None = None


@dataclass
class Connection:
    """Per-connection state: which jobs' events it gets, and an upload waiting for its bytes."""
    jobs: set[str] = field(default_factory=set)
    all: bool = False
    upload: dict[str, Any] | None = None

    def wants(self, job_id: str) -> bool:
        return self.all or job_id in self.jobs


@dataclass
class Outcome:
    replies: list[dict[str, Any]] = field(default_factory=list)
    status_changed: bool = False  # broadcast ``status`` to every connection (after the replies)
    wake_worker: bool = False


Handler = Callable[[Services, Connection, dict, Any], Outcome]


@dataclass(frozen=True)
class Route:
    handle: Handler
    prepare: Callable[[Services, dict], Any] | None = None  # blocking part, run off the loop


def status_message(services: Services) -> dict[str, Any]:
    pending = services.store.pending_ids()
    return {"type": "status", "running": services.store.running_id(), "pending": len(pending), "queue": pending}


def summary(record: JobRecord, token: str | None) -> dict[str, Any]:
    """A history entry; output URLs carry the token when the server has one."""
    entry = record.summary()
    entry["seq"] = record.seq
    if token and entry["urls"]:
        entry["urls"] = [u + "?token=" + token for u in entry["urls"]]
    if token and entry.get("sweep"):
        entry["sweep"] = {**entry["sweep"], **{k: entry["sweep"][k] + "?token=" + token
                                               for k in ("index_url", "sheet_url") if entry["sweep"].get(k)}}
    return entry


def _one(reply: dict[str, Any], **effects: bool) -> Outcome:
    return Outcome([reply], **effects)


# --- the handlers --------------------------------------------------------------------------

def hello(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    status = status_message(s)
    return _one(protocol.reply(msg, "hello", version=protocol.VERSION, session=s.instance, server=s.server,
                               token_required=bool(s.token), limits=dict(s.limits),
                               running=status["running"], pending=status["pending"]))


def ping(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    return _one(protocol.reply(msg, "pong", time=s.clock()))


def catalogue(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    return _one(protocol.reply(msg, "catalogue", **s.catalogue))


def check_workflow(s: Services, msg: dict) -> None:
    """queue's prepare step: nothing invalid is queued."""
    try:
        s.validate(msg["workflow"])
    except WorkflowInvalid as exc:
        problems = [p.to_json() for p in exc.problems]
        raise ProtocolError("invalid_workflow", f"the workflow has {len(problems)} problem"
                            f"{'s' if len(problems) != 1 else ''}", msg.get("id"), problems=problems) from None


def queue(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    record = s.store.add(msg["workflow"], msg.get("client_ref"))
    conn.jobs.add(record.id)  # before the worker can emit: the queuer gets every event
    pending = s.store.pending_ids()
    position = pending.index(record.id) + 1 if record.id in pending else 0
    return _one(protocol.reply(msg, "queued", job=record.id, position=position,
                               **({"client_ref": record.client_ref} if record.client_ref else {})),
                wake_worker=True, status_changed=True)


def interrupt(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    job_id = msg.get("job")
    done = s.interrupt(job_id)
    if done is None and job_id is not None:
        record = s.store.get(job_id)
        if record is None:
            raise ProtocolError("not_found", f"no job {job_id!r}", msg.get("id"))
        raise ProtocolError("not_running", f"job {job_id!r} is {record.status}"
                            + ("; use 'cancel' for a pending job" if record.status == "pending" else ""),
                            msg.get("id"))
    return _one(protocol.reply(msg, "interrupting", job=done))


def cancel(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    job_id = msg["job"]
    if not s.store.cancel(job_id):
        record = s.store.get(job_id)
        if record is None:
            raise ProtocolError("not_found", f"no job {job_id!r}", msg.get("id"))
        raise ProtocolError("not_pending", f"job {job_id!r} is {record.status}"
                            + ("; use 'interrupt' for the running job" if record.status == "running" else ""),
                            msg.get("id"))
    return _one(protocol.reply(msg, "cancelled", job=job_id), status_changed=True)


def history(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    records = s.store.history(msg.get("limit", 50), msg.get("before"))
    return _one(protocol.reply(msg, "history", jobs=[summary(r, s.token) for r in records]))


def job(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    record = s.store.get(msg["job"])
    if record is None:
        raise ProtocolError("not_found", f"no job {msg['job']!r}", msg.get("id"))
    return _one(protocol.reply(msg, "job", **summary(record, s.token), workflow=record.workflow))


def queue_state(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    return _one(protocol.reply(msg, "queue_state", running=s.store.running_id(), pending=s.store.pending_ids()))


def list_files(s: Services, msg: dict) -> list[str]:
    """files' prepare step: walk the kind's folder."""
    return s.list_files(msg["kind"], s.file_extensions.get(msg["kind"], ()))


def files(s: Services, conn: Connection, msg: dict, prepared: list[str] | None = None) -> Outcome:
    names = [f for f in prepared or () if not any(part.startswith(".") for part in f.split("/"))]
    return _one(protocol.reply(msg, "files", kind=msg["kind"], files=names[:MAX_LISTING],
                               truncated=len(names) > MAX_LISTING))


def upload(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    """No reply yet: the next frame must be the bytes (see ``take_upload``)."""
    kind = msg.get("kind", "image")
    try:
        name = protocol.upload_name(msg["name"], kind)
        if "size" in msg and "max_upload" in s.limits:  # refused before the bytes are sent
            if msg["size"] > s.limits["max_upload"]:
                raise ProtocolError("bad_upload", f"the upload is {msg['size']:,} bytes, over the server's "
                                                  f"limit of {s.limits['max_upload']:,} bytes")
    except ProtocolError as exc:
        exc.id = msg.get("id")
        raise
    conn.upload = {"id": msg.get("id"), "name": name, "kind": kind, "overwrite": msg.get("overwrite", False)}
    return Outcome()


def convert_import(s: Services, msg: dict) -> dict:
    """import's prepare step: the file's workflow as the canvas loads it (every problem if not)."""
    if s.convert is None:
        raise ProtocolError("bad_message", "this server converts no workflow files", msg.get("id"))
    if not any(key in msg for key in ("data", "workflow", "prompt")):
        raise ProtocolError("bad_message", "'import' needs 'data', or 'workflow' and/or 'prompt'", msg.get("id"))
    try:
        return s.convert(msg)
    except WorkflowInvalid as exc:
        problems = [p.to_json() for p in exc.problems]
        raise ProtocolError("invalid_workflow", f"the file does not convert: {len(problems)} problem"
                            f"{'s' if len(problems) != 1 else ''}", msg.get("id"), problems=problems) from None


def imported(s: Services, conn: Connection, msg: dict, prepared: dict | None = None) -> Outcome:
    return _one(protocol.reply(msg, "imported", **(prepared or {})))


def subscribe(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    if msg["job"] == "all":
        conn.all = True
    else:
        conn.jobs.add(msg["job"])
    return _one(protocol.reply(msg, "subscribed", job=msg["job"]))


def unsubscribe(s: Services, conn: Connection, msg: dict, prepared: Any = None) -> Outcome:
    if msg["job"] == "all":
        conn.all = False
    else:
        conn.jobs.discard(msg["job"])
    return _one(protocol.reply(msg, "unsubscribed", job=msg["job"]))


TABLE: dict[str, Route] = {
    "hello": Route(hello),
    "ping": Route(ping),
    "catalogue": Route(catalogue),
    "queue": Route(queue, prepare=check_workflow),
    "interrupt": Route(interrupt),
    "cancel": Route(cancel),
    "history": Route(history),
    "job": Route(job),
    "queue_state": Route(queue_state),
    "files": Route(files, prepare=list_files),
    "upload": Route(upload),
    "subscribe": Route(subscribe),
    "unsubscribe": Route(unsubscribe),
    "import": Route(imported, prepare=convert_import),
}


# --- frames --------------------------------------------------------------------------------

def drop_upload(conn: Connection) -> list[dict[str, Any]]:
    """A text frame where an upload's bytes were expected drops that upload, with an error."""
    if conn.upload is None:
        return []
    pending, conn.upload = conn.upload, None
    return [protocol.error("bad_upload", "expected the upload's binary frame; upload dropped", pending.get("id"))]


def read_text(text: str, max_text: int, file_kinds: Any = ()) -> dict[str, Any]:
    """A text frame -> the checked request; raises ProtocolError. ``file_kinds``: see file_kinds."""
    if len(text) > max_text:
        raise ProtocolError("too_large", f"text messages are limited to {max_text} bytes")
    return protocol.parse(text, file_kinds)


def file_kinds(s: Services) -> list[str]:
    """The file kinds ``files`` may list: the catalogue's (the core's and those packs declare)."""
    return [kind["name"] for kind in s.catalogue.get("file_kinds", ())]


def route(msg: dict[str, Any]) -> Route:
    """The table's entry for a request; an unknown type is a clean ``unknown_type`` error."""
    entry = TABLE.get(msg.get("type")) if isinstance(msg.get("type"), str) else None
    if entry is None:
        raise ProtocolError("unknown_type", f"unknown message type {msg.get('type')!r}; known: "
                            f"{', '.join(sorted(TABLE))}", msg.get("id"))
    return entry


def handle(s: Services, conn: Connection, msg: dict[str, Any]) -> Outcome:
    """Prepare (inline) and handle one request: for tests and callers without an event loop."""
    entry = route(msg)
    prepared = entry.prepare(s, msg) if entry.prepare is not None else None
    return entry.handle(s, conn, msg, prepared)


def take_upload(conn: Connection, data: bytes, max_bytes: int | None = None) -> dict[str, Any]:
    """A binary frame: the pending upload it completes, with its size and bytes checked."""
    pending, conn.upload = conn.upload, None
    if pending is None:
        raise ProtocolError("bad_upload", "a binary frame must follow an 'upload' message")
    try:
        protocol.check_upload_bytes(pending["name"], data, max_bytes)
    except ProtocolError as exc:
        exc.id = pending.get("id")
        raise
    return pending


def uploaded(pending: dict[str, Any], stored_name: str, size: int) -> dict[str, Any]:
    return protocol.reply(pending, "uploaded", name=stored_name, kind=pending.get("kind", "image"), size=size)
