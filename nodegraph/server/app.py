"""The server: one aiohttp application on one port — the UI's files, output files, the native
websocket at /ws and ComfyUI's HTTP API and websocket dialect (``nodegraph.comfyui``).

This module only assembles the parts and runs their life cycle:

- ``web.SecurityLayer``: the Host/Origin/token checks, one middleware for every route;
- ``web.StaticFiles``: the UI's files and the output folder (``static`` path rules);
- ``ws.Hub``: the thin websocket layer, frames in and out;
- ``handlers``: the pure message handlers and their table (no I/O, unit-tested);
- ``worker.Worker``: one thread running the SQLite queue (``jobs``) through the session API;
- ``nodegraph.comfyui.routes``: ComfyUI's routes under ``/`` and ``/api/``, mounted here.

One ``Session`` lives as long as the server, so models stay warm across jobs.

    handle = start_in_thread(ServerConfig(port=0, data_dir=..., output_dir=..., ...))
    handle.url  # http://127.0.0.1:PORT/
    handle.stop()
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from ..api.errors import UsageError, WorkflowInvalid
from ..comfyui import install as install_comfyui
from ..comfyui.load import import_message
from ..run.cache import DEFAULT_DISK_BYTES, DEFAULT_MEMORY_BYTES
from ..run.error_log import DEFAULT_NAME, ErrorLog
from ..run.executor import Executor, InProcessExecutor
from ..run.executors import executor_named
from ..run.media_limits import MediaLimits
from ..run.session import Session
from ..startup.paths import default_cache_dir
from ..version import __version__
from . import handlers, protocol, security, static
from .jobs import JobStore
from .web import SecurityLayer, StaticFiles, add_security_headers
from .worker import Worker
from .ws import Hub

log = logging.getLogger("nodegraph.server")

MAX_MESSAGE = 32 << 20  # websocket frames (uploads); bigger ones close the connection (1009)
MAX_UPLOAD = 32 << 20  # an uploaded file; bigger ones are refused with bad_upload (uploads.py)
MAX_TEXT = 4 << 20  # JSON commands; bigger ones get an error reply


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
    cache_memory: int = DEFAULT_MEMORY_BYTES  # bytes of outputs kept in memory between jobs
    cache_disk: int = DEFAULT_DISK_BYTES
    web_dir: Path | None = None  # default: the installed canvas (static.default_web_dir)
    plugin_dirs: tuple[str | Path, ...] = ()
    comfy_dirs: tuple[str | Path, ...] = ()  # ComfyUI custom_nodes folders (--comfy-nodes)
    device: str = "cpu"
    allow_hosts: tuple[str, ...] = ()
    max_message: int | None = None  # None: MAX_MESSAGE, raised to fit the largest upload
    max_text: int = MAX_TEXT
    max_upload: int = MAX_UPLOAD
    media_limits: MediaLimits | None = None  # pixel budgets of file inputs; None: defaults and environment
    use_entry_points: bool = True
    executor: Executor | None = None  # None: nodes run in this process (InProcessExecutor)
    compile: bool = False  # fast mode: packs compile their models once, for every job after
    warmups: tuple[Path, ...] = ()  # workflows run once at start-up, before the first job (warmup.py)
    demo_models: bool = False  # every job runs on the packs' demo models (nodegraph.graph.demo_models)
    ui: str = "nodegraph"  # the UI served at /: "nodegraph" (the canvas) or "comfyui" (ComfyUI's frontend)
    comfyui_api: bool = True  # ComfyUI's HTTP API and websocket dialect (nodegraph.comfyui)


class DataDirBusy(RuntimeError):
    pass


class Server:
    def __init__(self, config: ServerConfig):
        security.check_bind(config.host, config.token)
        self.config = config
        self.token = config.token or None
        for folder in (config.data_dir, config.output_dir, config.input_dir):
            Path(folder).mkdir(parents=True, exist_ok=True)
        self.output_dir = Path(config.output_dir)
        self.input_dir = Path(config.input_dir)
        # An upload travels in one frame: unless set, the frame limit leaves room for the largest upload.
        self.max_message = config.max_message or max(MAX_MESSAGE, config.max_upload + (64 << 10))
        self.web_dir = _ui_dir(config)
        self.security = SecurityLayer(self.token, security.allowed_hosts(config.host, config.allow_hosts))
        self.files = StaticFiles(self.web_dir, self.output_dir)
        self.session = Session.open(
            input_dir=self.input_dir, models_dir=config.models_dir, output_dir=self.output_dir,
            cache_dir=config.cache_dir or None, memory_bytes=config.cache_memory, disk_bytes=config.cache_disk,
            device=config.device, strict_paths=True,
            plugin_dirs=config.plugin_dirs, pack_folders={"comfy": config.comfy_dirs},
            use_entry_points=config.use_entry_points, executor=config.executor,
            on_plugin_failure=lambda plugin, message: log.warning("plugin %s: %s", plugin, message),
            demo_models=config.demo_models)
        install_comfyui(self.session)  # ComfyUI's workflow files; ComfyUI's metadata in outputs saved for it
        self.session.env.compile = self.session.env.compile or config.compile
        self.session.env.write_behind = write_behind(config)
        if config.media_limits is not None:
            self.session.env.media_limits = config.media_limits
        for workflow in config.warmups:  # refused now, with its problems, not after the server is up
            self.session.prepare(workflow)
        catalogue = self.session.registry.catalogue()
        self._lock_file = _lock_data_dir(Path(config.data_dir))
        self.store = JobStore(Path(config.data_dir) / "jobs.sqlite3")
        requeued, failed = self.store.recover()
        if requeued or failed:
            log.warning("recovered after a stop: re-queued %s, failed %s", requeued, failed)
        self.services = handlers.Services(
            store=self.store, catalogue=catalogue, file_extensions=_file_extensions(catalogue),
            validate=lambda workflow: self.session.prepare(workflow),
            list_files=self.session.env.files.listing,
            interrupt=lambda job_id: self.worker.interrupt(job_id),
            instance=uuid.uuid4().hex[:12], server=f"nodegraph {__version__}", token=self.token,
            limits={"max_message": self.max_message, "max_text": config.max_text, "max_upload": config.max_upload},
            clock=time.time, convert=lambda msg: import_message(msg, self.session.registry))
        self.hub = Hub(self.services, lambda: self.worker.wake(), self.input_dir, self.output_dir, config.max_text,
                       self.max_message, config.max_upload)
        self.worker = Worker(self.store, self.session, self.output_dir, self.hub.sink_for, self.hub.notify_status,
                             tuple(config.warmups), ErrorLog(Path(config.data_dir) / DEFAULT_NAME))
        self.comfy = None
        if config.comfyui_api:
            from ..comfyui.routes import ComfyAPI
            self.comfy = ComfyAPI(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port: int | None = None
        self._stop: asyncio.Event | None = None

    def application(self) -> web.Application:
        """The one aiohttp application: security layer first, then the routes (API before files)."""
        app = web.Application(middlewares=[self.security.middleware], client_max_size=self.max_message)
        app.on_response_prepare.append(add_security_headers)
        app.router.add_route("GET", "/ws", self.hub.websocket)
        app.router.add_route("GET", "/api/ws", self.hub.websocket)  # ComfyUI serves every route under /api too
        if self.comfy is not None:
            self.comfy.add_routes(app)
        app.router.add_routes(self.files.routes())
        return app

    async def main(self, ready: threading.Event | None = None) -> None:
        self.loop = self.hub.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.application(), access_log=None, handle_signals=False, shutdown_timeout=2)
        try:
            await runner.setup()
            try:
                site = web.TCPSite(runner, self.config.host or None, self.config.port)
                await site.start()
                self.port = runner.addresses[0][1]
                self.worker.start()
                if ready is not None:
                    ready.set()
                await self._stop.wait()
                self.worker.stop()
                await asyncio.to_thread(self.worker.join, 30)
                await self.hub.close_all()
            finally:
                await runner.cleanup()
        finally:
            if self.comfy is not None:
                self.comfy.close()
            if not self.worker.is_alive():
                self.store.close()
            self.session.close()
            self._lock_file.close()  # releases the data-dir lock

    def request_stop(self) -> None:
        loop, stop = self.loop, self._stop
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # loop already closed
                pass


def _ui_dir(config: ServerConfig) -> Path:
    """The folder served at /: --web-dir, else the canvas, or ComfyUI's frontend (--ui comfyui)."""
    if config.web_dir is not None:
        return Path(config.web_dir)
    if config.ui == "comfyui":
        from ..comfyui.frontend import frontend_dir
        return frontend_dir()
    if config.ui != "nodegraph":
        raise UsageError(f"unknown UI {config.ui!r}: use nodegraph or comfyui")
    return static.default_web_dir()


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


def _printed_url(config: ServerConfig, port: int) -> str:
    """The address to open. The canvas reads the token from the fragment (it never reaches the
    server); ComfyUI's frontend cannot, so its URL carries ``?token=``, which the server turns
    into a cookie and drops from the address bar."""
    url = _url(config.host, port)
    if not config.token:
        return url
    return url + (f"?token={config.token}" if config.ui == "comfyui" else f"#token={config.token}")


def write_behind(config: ServerConfig) -> bool:
    """Whether output files are encoded while the worker goes on with the next job (a job's
    ``done`` still waits for its files). Only with the jobs' compute on a GPU: on a CPU the
    encoder takes the cores the next job needs (measured on 2 cores: 4% slower, not faster).
    Remote executors write where their nodes run."""
    return config.device != "cpu" and (config.executor is None or isinstance(config.executor, InProcessExecutor))


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
        cache_memory=getattr(args, "cache_memory", DEFAULT_MEMORY_BYTES),
        cache_disk=getattr(args, "cache_disk", DEFAULT_DISK_BYTES),
        web_dir=Path(args.web_dir) if getattr(args, "web_dir", None) else None,
        plugin_dirs=tuple(args.plugins), comfy_dirs=tuple(getattr(args, "comfy_nodes", None) or ()),
        device=args.device,
        allow_hosts=tuple(getattr(args, "allow_host", None) or ()),
        max_message=getattr(args, "max_message", None),
        max_upload=getattr(args, "max_upload", None) or MAX_UPLOAD,
        media_limits=media_limits_of(args),
        executor=executor_named(getattr(args, "executor", "local"), getattr(args, "address", None)),
        compile=bool(getattr(args, "compile", False)),
        warmups=tuple(Path(p) for p in getattr(args, "warmup", None) or ()),
        demo_models=bool(getattr(args, "demo_models", False)),
        ui=getattr(args, "ui", None) or "nodegraph")


def media_limits_of(args) -> MediaLimits | None:
    """``--max-image-pixels`` / ``--max-video-pixels`` over the environment's budgets (None: neither given)."""
    image, video = getattr(args, "max_image_pixels", None), getattr(args, "max_video_pixels", None)
    if image is None and video is None:
        return None
    return MediaLimits.from_env().with_overrides(image, video)


def serve_forever(args) -> int:
    """``nodegraph serve``: runs until SIGINT/SIGTERM. Exit 2 when the settings are unsafe."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    config = config_from_args(args)
    try:
        server = Server(config)
    except (security.SecurityError, DataDirBusy, UsageError) as exc:
        print(f"nodegraph serve: {exc}", file=sys.stderr)
        return 2
    except WorkflowInvalid as exc:  # a --warmup workflow
        for problem in exc.problems:
            print(f"nodegraph serve: --warmup: invalid: {problem}", file=sys.stderr)
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
            print(f"nodegraph: serving {_printed_url(config, server.port)}", flush=True)
        await task

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"nodegraph serve: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 2
    return 0
