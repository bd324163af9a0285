"""The server: one port for GET (canvas, output files) and /ws (everything else).

Thin I/O around the pure modules: ``security`` (who may connect), ``static`` (which file a GET
names), ``protocol`` (frames), ``jobs`` (the durable queue). One ``Session`` lives as long as
the server, so models stay warm across jobs; one worker thread runs jobs in FIFO order and
hands the executor's events to the event loop with ``call_soon_threadsafe``.

    handle = start_in_thread(ServerConfig(port=0, data_dir=..., output_dir=..., ...))
    handle.url  # http://127.0.0.1:PORT/
    handle.stop()
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .. import __version__
from ..context import InterruptToken
from ..errors import WorkflowInvalid
from ..files import atomic_write
from ..paths import default_cache_dir
from ..session import Session
from ..workflow import parse_workflow
from . import jobs as jobstates
from . import protocol, security, static
from .jobs import JobRecord, JobStore
from .protocol import ProtocolError

log = logging.getLogger("nodegraph.server")

MAX_MESSAGE = 32 << 20  # websocket frames (uploads); bigger ones close the connection (1009)
MAX_TEXT = 4 << 20  # JSON commands; bigger ones get an error reply
MAX_CLIENT_BUFFER = 32 << 20  # a client this far behind is disconnected (1008)
MAX_LISTING = 5000


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8188
    token: str | None = None
    data_dir: Path = Path("nodegraph-data")
    output_dir: Path = Path("output")
    input_dir: Path = Path("input")
    models_dir: Path = Path("models")
    cache_dir: Path | None = None  # disk cache tier; None: memory only
    web_dir: Path | None = None  # default: the installed canvas (static.default_web_dir)
    plugin_dirs: tuple[str | Path, ...] = ()
    device: str = "cpu"
    allow_hosts: tuple[str, ...] = ()
    max_message: int = MAX_MESSAGE
    max_text: int = MAX_TEXT
    use_entry_points: bool = True


# --------------------------------------------------------------------------------------------
# The worker: one thread, jobs in FIFO order, one Session.
# --------------------------------------------------------------------------------------------

class Worker(threading.Thread):
    def __init__(self, server: "Server"):
        super().__init__(name="nodegraph-worker", daemon=True)
        self.server = server
        self.store = server.store
        self.session = server.session
        self._cond = threading.Condition()
        self._lock = threading.Lock()
        self._stopping = False
        self.current: tuple[str, InterruptToken] | None = None

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop after the running job; that job is interrupted and goes back to the queue."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        with self._lock:
            if self.current is not None:
                self.current[1].set()

    def interrupt(self, job_id: str | None) -> str | None:
        with self._lock:
            if self.current is None or (job_id is not None and self.current[0] != job_id):
                return None
            self.current[1].set()
            return self.current[0]

    def run(self) -> None:
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
            self.server.notify_status()
            try:
                self._run(record, token)
            finally:
                with self._lock:
                    self.current = None
                self.server.notify_status()

    def _run(self, record: JobRecord, token: InterruptToken) -> None:
        emit = self.server.sink_for(record.id)
        out_dir = self.server.output_dir
        try:
            job = self.session.prepare(record.workflow, sink=emit, interrupt=token, job_id=record.id)
        except WorkflowInvalid as exc:  # files changed since it was queued, ...
            problems = [p.to_json() for p in exc.problems]
            error = {"code": "invalid_workflow", "message": "the workflow is no longer valid", "problems": problems}
            self.store.finish(record.id, jobstates.FAILED, {"error": error})
            emit({"event": "error", "kind": "validation", "message": error["message"], "problems": problems,
                  "job": record.id})
            emit({"event": "done", "status": "failed", "executed": 0, "cached": 0, "seconds": 0.0, "outputs": [],
                  "job": record.id})
            return
        except Exception as exc:  # noqa: BLE001
            self._crash(record, exc, emit)
            return
        try:
            result = self.session.execute(job)
        except Exception as exc:  # noqa: BLE001 - the executor itself failed; keep serving
            self._crash(record, exc, emit)
            return
        if result.status == "interrupted" and self._stopping:
            self.store.requeue(record.id, "re-queued: the server stopped while it ran")
            return
        names = [protocol.output_url(p, out_dir) for p in result.outputs]
        error = None
        if result.error:
            error = {k: v for k, v in result.error.items() if k not in ("event", "job")}
            error["traceback"] = str(error.get("traceback", ""))[-8000:]
        self.store.finish(record.id, result.status, {
            "outputs": [n[len("/output/"):] for n in names if n],
            "urls": [n for n in names if n],
            "ui": result.ui, "error": error, "executed": len(result.executed), "cached": len(result.cached),
            "seconds": round(result.seconds, 6)})

    def _crash(self, record: JobRecord, exc: BaseException, emit) -> None:
        log.exception("job %s crashed", record.id)
        error = {"code": "internal", "message": f"{type(exc).__name__}: {exc}",
                 "traceback": "".join(traceback.format_exception(exc))[-8000:]}
        self.store.finish(record.id, jobstates.FAILED, {"error": error})
        emit({"event": "error", "message": error["message"], "job": record.id})
        emit({"event": "done", "status": "failed", "executed": 0, "cached": 0, "seconds": 0.0, "outputs": [],
              "job": record.id})


# --------------------------------------------------------------------------------------------
# The server.
# --------------------------------------------------------------------------------------------

class Client:
    __slots__ = ("ws", "jobs", "all", "upload")

    def __init__(self, ws: ServerConnection):
        self.ws = ws
        self.jobs: set[str] = set()
        self.all = False
        self.upload: dict[str, Any] | None = None


class Server:
    def __init__(self, config: ServerConfig):
        security.check_bind(config.host, config.token)
        self.config = config
        self.token = config.token or None
        self.allowed = security.allowed_hosts(config.host, config.allow_hosts)
        self.web_dir = Path(config.web_dir) if config.web_dir is not None else static.default_web_dir()
        for folder in (config.data_dir, config.output_dir, config.input_dir):
            Path(folder).mkdir(parents=True, exist_ok=True)
        self.output_dir = Path(config.output_dir)
        self.input_dir = Path(config.input_dir)
        self.session = Session.open(
            input_dir=self.input_dir, models_dir=config.models_dir, output_dir=self.output_dir,
            cache_dir=config.cache_dir or None, device=config.device, strict_paths=True,
            plugin_dirs=config.plugin_dirs, use_entry_points=config.use_entry_points,
            on_plugin_failure=lambda plugin, message: log.warning("plugin %s: %s", plugin, message))
        self.catalogue = self.session.registry.catalogue()
        self.file_extensions = _file_extensions(self.catalogue)
        self._lock_file = _lock_data_dir(Path(config.data_dir))
        self.store = JobStore(Path(config.data_dir) / "jobs.sqlite3")
        requeued, failed = self.store.recover()
        if requeued or failed:
            log.warning("recovered after a stop: re-queued %s, failed %s", requeued, failed)
        self.instance = uuid.uuid4().hex[:12]
        self.clients: set[Client] = set()
        self.worker = Worker(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port: int | None = None
        self._stop: asyncio.Event | None = None

    # --- thread -> loop ------------------------------------------------------------------
    def _soon(self, fn, *args) -> None:
        loop = self.loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed during shutdown
            pass

    def sink_for(self, job_id: str):
        def emit(event: dict) -> None:
            self._soon(self._on_event, job_id, event)
        return emit

    def notify_status(self) -> None:
        self._soon(self.broadcast_status)

    # --- sending -------------------------------------------------------------------------
    def send(self, client: Client, message: dict[str, Any]) -> None:
        """Write now (ordered with events; no backpressure, bounded by MAX_CLIENT_BUFFER)."""
        self._write([client], protocol.dumps(message))

    def _write(self, clients, text: str) -> None:
        conns = []
        for c in clients:
            transport = c.ws.transport
            if transport is not None and transport.get_write_buffer_size() > MAX_CLIENT_BUFFER:
                asyncio.ensure_future(c.ws.close(1008, "client too slow"))
                continue
            conns.append(c.ws)
        if conns:
            broadcast(conns, text)

    def status(self) -> dict[str, Any]:
        pending = self.store.pending_ids()
        return {"type": "status", "running": self.store.running_id(), "pending": len(pending), "queue": pending}

    def broadcast_status(self) -> None:
        self._write(list(self.clients), protocol.dumps(self.status()))

    def _on_event(self, job_id: str, event: dict) -> None:
        targets = [c for c in self.clients if c.all or job_id in c.jobs]
        if not targets:
            return
        self._write(targets, protocol.dumps(protocol.event_message(event, self.output_dir, self.token)))
        for preview in protocol.preview_messages(event, self.output_dir, self.token):
            self._write(targets, protocol.dumps(preview))

    # --- HTTP ----------------------------------------------------------------------------
    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if getattr(request, "method", "GET") != "GET":
            return _text(405, "only GET is served; commands and uploads go over /ws\n", {"Allow": "GET"})
        headers = request.headers
        hosts = headers.get_all("Host")
        if len(hosts) != 1 or not security.host_allowed(hosts[0], self.allowed):
            return _text(403, "Host not allowed (use localhost, 127.0.0.1 or a host given with --allow-host)\n")
        try:
            area, name = static.route(request.path)
        except static.Refused as exc:
            return _text(exc.status, f"{exc.reason}\n")
        authorization = headers.get_all("Authorization")
        presented = security.request_token(request.path, authorization[0] if len(authorization) == 1 else None)
        if area == "ws":
            origins = headers.get_all("Origin")
            if len(origins) > 1 or not security.origin_allowed(origins[0] if origins else None, hosts[0]):
                return _text(403, "cross-origin websocket refused\n")
            if not security.token_ok(self.token, presented):
                return _text(401, "token required\n", {"WWW-Authenticate": "Bearer"})
            return None
        if area == "favicon":
            path = self.web_dir / name
            if path.is_file():
                return await asyncio.to_thread(self._file_response, self.web_dir, name, "web")
            return _response(200, static.FAVICON_SVG, "image/svg+xml", "max-age=300")
        if area == "output":
            if not security.token_ok(self.token, presented):
                return _text(401, "token required\n", {"WWW-Authenticate": "Bearer"})
            return await asyncio.to_thread(self._file_response, self.output_dir, name, "output")
        return await asyncio.to_thread(self._file_response, self.web_dir, name, "web")

    def _file_response(self, root: Path, name: str, area: str) -> Response:
        try:
            path = static.resolve_inside(root, name)
            body = path.read_bytes()
        except static.Refused as exc:
            if area == "web" and name == "index.html":
                return _text(404, f"the web canvas is not installed ({root / 'index.html'} is missing)\n")
            return _text(exc.status, f"{exc.reason}\n")
        except OSError:
            return _text(404, "not found\n")
        return _response(200, body, static.content_type(path.name), static.cache_control(path.name, area))

    # --- websocket -----------------------------------------------------------------------
    async def handler(self, ws: ServerConnection) -> None:
        client = Client(ws)
        self.clients.add(client)
        try:
            async for message in ws:
                try:
                    if isinstance(message, bytes):
                        await self._on_binary(client, message)
                    else:
                        await self._on_text(client, message)
                except ProtocolError as exc:
                    self.send(client, exc.to_message())
                except Exception as exc:  # noqa: BLE001 - one bad message never kills the connection
                    log.exception("error handling a message")
                    self.send(client, protocol.error("internal", f"{type(exc).__name__}: {exc}"))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)

    async def _on_text(self, client: Client, text: str) -> None:
        if client.upload is not None:
            pending, client.upload = client.upload, None
            self.send(client, protocol.error("bad_upload", "expected the upload's binary frame; upload dropped",
                                             pending.get("id")))
        if len(text) > self.config.max_text:
            raise ProtocolError("too_large", f"text messages are limited to {self.config.max_text} bytes")
        msg = protocol.parse(text)
        handler = getattr(self, "_msg_" + msg["type"])
        await handler(client, msg)

    async def _on_binary(self, client: Client, data: bytes) -> None:
        pending, client.upload = client.upload, None
        if pending is None:
            raise ProtocolError("bad_upload", "a binary frame must follow an 'upload' message")
        try:
            protocol.check_upload_bytes(pending["name"], data)
        except ProtocolError as exc:
            exc.id = pending.get("id")
            raise
        name = await asyncio.to_thread(_store_upload, self.input_dir, pending["name"], data,
                                       pending.get("overwrite", False))
        self.send(client, protocol.reply(pending, "uploaded", name=name, kind=pending.get("kind", "image"),
                                         size=len(data)))

    async def _msg_hello(self, client: Client, msg: dict) -> None:
        status = self.status()
        self.send(client, protocol.reply(msg, "hello", version=protocol.VERSION, session=self.instance,
                                         server=f"nodegraph {__version__}", token_required=bool(self.token),
                                         limits={"max_message": self.config.max_message,
                                                 "max_text": self.config.max_text},
                                         running=status["running"], pending=status["pending"]))

    async def _msg_ping(self, client: Client, msg: dict) -> None:
        self.send(client, protocol.reply(msg, "pong", time=time.time()))

    async def _msg_catalogue(self, client: Client, msg: dict) -> None:
        self.send(client, protocol.reply(msg, "catalogue", **self.catalogue))

    async def _msg_queue(self, client: Client, msg: dict) -> None:
        workflow = msg["workflow"]
        try:
            await asyncio.to_thread(self._validate, workflow)
        except WorkflowInvalid as exc:
            problems = [p.to_json() for p in exc.problems]
            raise ProtocolError("invalid_workflow", f"the workflow has {len(problems)} problem"
                                f"{'s' if len(problems) != 1 else ''}", msg.get("id"), problems=problems) from None
        record = self.store.add(workflow, msg.get("client_ref"))
        client.jobs.add(record.id)
        pending = self.store.pending_ids()
        position = pending.index(record.id) + 1 if record.id in pending else 0
        self.send(client, protocol.reply(msg, "queued", job=record.id, position=position,
                                         **({"client_ref": record.client_ref} if record.client_ref else {})))
        self.worker.wake()
        self.broadcast_status()

    def _validate(self, workflow: dict) -> None:
        self.session.prepare(parse_workflow(workflow))

    async def _msg_interrupt(self, client: Client, msg: dict) -> None:
        job_id = msg.get("job")
        done = self.worker.interrupt(job_id)
        if done is None and job_id is not None:
            record = self.store.get(job_id)
            if record is None:
                raise ProtocolError("not_found", f"no job {job_id!r}", msg.get("id"))
            raise ProtocolError("not_running", f"job {job_id!r} is {record.status}"
                                + ("; use 'cancel' for a pending job" if record.status == "pending" else ""),
                                msg.get("id"))
        self.send(client, protocol.reply(msg, "interrupting", job=done))

    async def _msg_cancel(self, client: Client, msg: dict) -> None:
        job_id = msg["job"]
        if not self.store.cancel(job_id):
            record = self.store.get(job_id)
            if record is None:
                raise ProtocolError("not_found", f"no job {job_id!r}", msg.get("id"))
            raise ProtocolError("not_pending", f"job {job_id!r} is {record.status}"
                                + ("; use 'interrupt' for the running job" if record.status == "running" else ""),
                                msg.get("id"))
        self.send(client, protocol.reply(msg, "cancelled", job=job_id))
        self.broadcast_status()

    async def _msg_history(self, client: Client, msg: dict) -> None:
        records = self.store.history(msg.get("limit", 50), msg.get("before"))
        self.send(client, protocol.reply(msg, "history", jobs=[_summary(r, self.token) for r in records]))

    async def _msg_job(self, client: Client, msg: dict) -> None:
        record = self.store.get(msg["job"])
        if record is None:
            raise ProtocolError("not_found", f"no job {msg['job']!r}", msg.get("id"))
        self.send(client, protocol.reply(msg, "job", **_summary(record, self.token), workflow=record.workflow))

    async def _msg_queue_state(self, client: Client, msg: dict) -> None:
        self.send(client, protocol.reply(msg, "queue_state", running=self.store.running_id(),
                                         pending=self.store.pending_ids()))

    async def _msg_files(self, client: Client, msg: dict) -> None:
        kind = msg["kind"]
        extensions = self.file_extensions.get(kind, ())
        files = await asyncio.to_thread(self.session.env.files.listing, kind, extensions)
        files = [f for f in files if not any(part.startswith(".") for part in f.split("/"))]
        self.send(client, protocol.reply(msg, "files", kind=kind, files=files[:MAX_LISTING],
                                         truncated=len(files) > MAX_LISTING))

    async def _msg_upload(self, client: Client, msg: dict) -> None:
        kind = msg.get("kind", "image")
        try:
            name = protocol.upload_name(msg["name"], kind)
        except ProtocolError as exc:
            exc.id = msg.get("id")
            raise
        client.upload = {"id": msg.get("id"), "name": name, "kind": kind, "overwrite": msg.get("overwrite", False)}

    async def _msg_subscribe(self, client: Client, msg: dict) -> None:
        if msg["job"] == "all":
            client.all = True
        else:
            client.jobs.add(msg["job"])
        self.send(client, protocol.reply(msg, "subscribed", job=msg["job"]))

    async def _msg_unsubscribe(self, client: Client, msg: dict) -> None:
        if msg["job"] == "all":
            client.all = False
        else:
            client.jobs.discard(msg["job"])
        self.send(client, protocol.reply(msg, "unsubscribed", job=msg["job"]))

    # --- life ----------------------------------------------------------------------------
    async def main(self, ready: threading.Event | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with serve(self.handler, self.config.host, self.config.port,
                             process_request=self.process_request, max_size=self.config.max_message,
                             compression=None, ping_interval=20, ping_timeout=60, close_timeout=2,
                             logger=logging.getLogger("nodegraph.server.ws")) as server:
                self.port = server.sockets[0].getsockname()[1]
                self.worker.start()
                if ready is not None:
                    ready.set()
                await self._stop.wait()
                self.worker.stop()
                await asyncio.to_thread(self.worker.join, 30)
        finally:
            if not self.worker.is_alive():
                self.store.close()
            self.session.close()
            self._lock_file.close()  # releases the data-dir lock

    def request_stop(self) -> None:
        if self.loop is not None and self._stop is not None:
            self._soon(self._stop.set)


class DataDirBusy(RuntimeError):
    pass


def _lock_data_dir(folder: Path):
    """One server per data dir: an exclusive flock, released by the OS even after kill -9."""
    import fcntl
    handle = open(folder / "server.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise DataDirBusy(f"another nodegraph server is using {folder}") from None
    return handle


def _summary(record: JobRecord, token: str | None) -> dict[str, Any]:
    summary = record.summary()
    summary["seq"] = record.seq
    if token and summary["urls"]:
        summary["urls"] = [u + "?token=" + token for u in summary["urls"]]
    return summary


def _file_extensions(catalogue: dict) -> dict[str, tuple[str, ...]]:
    """File kind -> extensions the catalogue's file inputs accept (union over nodes)."""
    found: dict[str, set[str]] = {}
    for spec in catalogue["nodes"]:
        for item in spec["inputs"]:
            file = item.get("file")
            if file and file.get("extensions") and not file.get("directory"):
                found.setdefault(file["kind"], set()).update(e.lower() for e in file["extensions"])
    found.setdefault("image", set()).update(protocol.UPLOAD_KINDS["image"])
    return {k: tuple(sorted(v)) for k, v in found.items()}


def _store_upload(folder: Path, name: str, data: bytes, overwrite: bool) -> str:
    """Write atomically under ``name`` (or name-1, name-2, ... unless overwriting or identical)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = os.path.splitext(name)
    digest = hashlib.sha256(data).digest()
    candidate, n = name, 0
    while not overwrite:
        path = folder / candidate
        if not path.exists() and not path.is_symlink():
            break
        if path.is_file() and not path.is_symlink() and hashlib.sha256(path.read_bytes()).digest() == digest:
            return candidate
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    target = folder / candidate
    if target.is_symlink():
        target.unlink()
    atomic_write(target, data)
    return candidate


_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                     "Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}


def _response(status: int, body: bytes, content_type: str, cache_control: str = "no-cache",
              extra: dict[str, str] | None = None) -> Response:
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = cache_control
    for key, value in {**_SECURITY_HEADERS, **(extra or {})}.items():
        headers[key] = value
    headers["Connection"] = "close"
    return Response(status, HTTPStatus(status).phrase, headers, body)


def _text(status: int, text: str, extra: dict[str, str] | None = None) -> Response:
    return _response(status, text.encode(), "text/plain; charset=utf-8", "no-store", extra)


# --------------------------------------------------------------------------------------------
# Entry points.
# --------------------------------------------------------------------------------------------

@dataclass
class ServerHandle:
    server: Server
    thread: threading.Thread
    port: int
    url: str
    _errors: list = field(default_factory=list)

    def stop(self, timeout: float = 30.0) -> None:
        self.server.request_stop()
        self.thread.join(timeout)

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _url(host: str, port: int) -> str:
    if host in security.WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def start_in_thread(config: ServerConfig, timeout: float = 30.0) -> ServerHandle:
    """Start a server on a background thread; returns once it accepts connections."""
    server = Server(config)
    ready = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.main(ready))
        except BaseException as exc:  # noqa: BLE001 - reported to the starter
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="nodegraph-server", daemon=True)
    thread.start()
    if not ready.wait(timeout):
        raise RuntimeError("the server did not start in time")
    if errors:
        raise errors[0]
    return ServerHandle(server, thread, server.port, _url(config.host, server.port), errors)


def config_from_args(args) -> ServerConfig:
    """``nodegraph serve`` options -> ServerConfig (disk cache on by default, as for ``run``)."""
    return ServerConfig(
        host=args.host, port=args.port, token=args.token or None, data_dir=Path(args.data_dir),
        output_dir=Path(args.out), input_dir=Path(args.input_dir), models_dir=Path(args.models_dir),
        cache_dir=Path(args.cache_dir) if args.cache_dir else default_cache_dir(),
        web_dir=Path(args.web_dir) if getattr(args, "web_dir", None) else None,
        plugin_dirs=tuple(args.plugins), device=args.device,
        allow_hosts=tuple(getattr(args, "allow_host", None) or ()),
        max_message=getattr(args, "max_message", None) or MAX_MESSAGE)


def serve_forever(args) -> int:
    """``nodegraph serve``: runs until SIGINT/SIGTERM. Exit 2 when the settings are unsafe."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("nodegraph.server.ws").setLevel(logging.WARNING)
    config = config_from_args(args)
    try:
        server = Server(config)
    except (security.SecurityError, DataDirBusy) as exc:
        print(f"nodegraph serve: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ready = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, server.request_stop)
            except (NotImplementedError, RuntimeError):
                pass
        task = asyncio.ensure_future(server.main(ready))
        while not ready.is_set() and not task.done():
            await asyncio.sleep(0.01)
        if server.port is not None:
            url = _url(config.host, server.port)
            print(f"nodegraph: serving {url}" + (f"#token={config.token}" if config.token else ""), flush=True)
        await task

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"nodegraph serve: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 2
    return 0
