"""The thin websocket layer (aiohttp): frames in, the handler table, frames out.

``Hub`` owns the open connections. For each text frame it asks ``handlers`` for the route,
runs the route's blocking ``prepare`` step in a thread, calls the pure handler on the event
loop and performs the ``Outcome`` (replies, then worker wake-up and status broadcast). Events
from the worker thread arrive through ``sink_for(job)`` and are hopped onto the loop with
``call_soon_threadsafe``, so a job's events are written in order and after its ``queued`` reply.

Every connection writes through a ``Peer``: one ordered queue drained by one task, so frames
leave in the order they were produced; a client too slow to read them is disconnected (1008)
rather than buffered without bound.

Another dialect (ComfyUI's, ``nodegraph.comfyui``) can share ``/ws``: ``Hub.dialect`` claims a
connection by its URL (``?clientId=``) or by its first frame, and serves it itself. Listeners
(``Hub.listeners``) hear every job event and every queue change, on the loop.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Callable, Protocol

from aiohttp import WSMsgType, web

from ..run.events import Sink
from . import handlers, protocol
from .handlers import Connection, Outcome, Services
from .protocol import ProtocolError
from .uploads import UploadRefused, store_upload
from .web import text_response

log = logging.getLogger("nodegraph.server")

MAX_CLIENT_BUFFER = 32 << 20  # a client this far behind is disconnected (1008)
# A connection without ?clientId= speaks nodegraph's protocol unless its first frame, sent
# within this time, is ComfyUI's (the frontend sends ``feature_flags`` as soon as it connects).
# Frames for it are held meanwhile, then delivered (native) or dropped (ComfyUI).
UNDECIDED_SECONDS = 0.5


class Peer:
    """One open websocket: frames are queued in order and written by one task."""

    def __init__(self, ws: web.WebSocketResponse, limit: int = MAX_CLIENT_BUFFER):
        self.ws = ws
        self.limit = limit
        self.backlog = 0  # bytes (characters for text) queued and not yet handed to the socket
        self.closed = False
        self._held: list[str | bytes] | None = None
        self._queue: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._drain())

    def hold(self) -> None:
        """Keep frames back until ``release`` (or ``drop_held``)."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        held, self._held = self._held, None
        for data in held or ():
            self.send(data)

    def drop_held(self) -> None:
        self._held = None

    def send(self, data: str | bytes) -> None:
        if self.closed:
            return
        if self._held is not None:
            self._held.append(data)
            return
        if self.backlog + len(data) > self.limit:
            self.kill(1008, "client too slow")
            return
        self.backlog += len(data)
        self._queue.put_nowait(data)

    async def _drain(self) -> None:
        try:
            while True:
                data = await self._queue.get()
                if data is None:
                    return
                if isinstance(data, str):
                    await self.ws.send_str(data)
                else:
                    await self.ws.send_bytes(data)
                self.backlog -= len(data)
        except (ConnectionError, RuntimeError):  # the client went away mid-write
            self.closed = True

    def kill(self, code: int, reason: str) -> None:
        """Close now, dropping what is still queued."""
        self.closed = True
        self._task.cancel()
        asyncio.ensure_future(self.ws.close(code=code, message=reason.encode()))

    async def finish(self) -> None:
        """Stop the writer once what is queued is written (the connection is closing)."""
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._task.cancel()
        self.closed = True


class Dialect(Protocol):
    """Another protocol spoken on /ws (ComfyUI's): it claims connections and serves them."""

    def claims_url(self, request: web.Request) -> bool: ...
    def claims_first(self, text: str) -> bool: ...
    async def serve(self, peer: Peer, request: web.Request, first: str | None) -> None: ...
    async def close_all(self) -> None: ...


class Listener(Protocol):
    def on_event(self, job_id: str, event: dict) -> None: ...
    def on_status(self) -> None: ...


class Hub:
    def __init__(self, services: Services, wake_worker: Callable[[], None], input_dir: Path, output_dir: Path,
                 max_text: int, max_message: int = 32 << 20, max_upload: int | None = None):
        self.max_upload = max_upload
        self.services = services
        self.wake_worker = wake_worker
        self.input_dir = Path(input_dir)
        self.output_dir = Path(output_dir)
        self.max_text = max_text
        self.max_message = max_message
        self.clients: dict[Peer, Connection] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.dialect: Dialect | None = None
        self.listeners: list[Listener] = []

    # --- worker thread -> loop -----------------------------------------------------------
    def _soon(self, fn, *args) -> None:
        loop = self.loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed during shutdown
            pass

    def sink_for(self, job_id: str) -> Sink:
        def emit(event: dict) -> None:
            self._soon(self._on_event, job_id, event)
        return emit

    def notify_status(self) -> None:
        self._soon(self.broadcast_status)

    # --- writing -------------------------------------------------------------------------
    def send(self, peer: Peer, message: dict[str, Any]) -> None:
        peer.send(protocol.dumps(message))

    def broadcast_status(self) -> None:
        text = protocol.dumps(handlers.status_message(self.services))
        for peer in list(self.clients):
            peer.send(text)
        for listener in self.listeners:
            listener.on_status()

    def _on_event(self, job_id: str, event: dict) -> None:
        targets = [peer for peer, conn in self.clients.items() if conn.wants(job_id)]
        if event.get("event") == "done":  # its last event: a connection that queued a job a
            for conn in self.clients.values():  # second for hours would otherwise keep every id
                conn.jobs.discard(job_id)
        if targets:
            token = self.services.token
            texts = [protocol.dumps(protocol.event_message(event, self.output_dir, token))]
            texts += [protocol.dumps(p) for p in protocol.preview_messages(event, self.output_dir, token)]
            for peer in targets:
                for text in texts:
                    peer.send(text)
        for listener in self.listeners:
            listener.on_event(job_id, event)

    def perform(self, peer: Peer, outcome: Outcome) -> None:
        for reply in outcome.replies:
            self.send(peer, reply)
        if outcome.wake_worker:
            self.wake_worker()
        if outcome.status_changed:
            self.broadcast_status()

    # --- reading -------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """GET /ws (after the security layer): the handshake, then this connection's frames."""
        ws = web.WebSocketResponse(max_msg_size=self.max_message, compress=False, heartbeat=20)
        if not ws.can_prepare(request).ok:
            return text_response(426, "this is the websocket endpoint: connect with a websocket client\n",
                                 {"Upgrade": "websocket"})
        await ws.prepare(request)
        peer = Peer(ws)
        try:
            if self.dialect is not None and self.dialect.claims_url(request):
                await self.dialect.serve(peer, request, None)
            else:
                await self._native(peer, request)
        finally:
            await peer.finish()
            if not ws.closed:
                await ws.close()
        return ws

    async def _native(self, peer: Peer, request: web.Request) -> None:
        ws = peer.ws
        conn = self.clients[peer] = Connection()  # status broadcasts reach listeners that never speak
        undecided = self.dialect is not None
        if undecided:
            peer.hold()
            timer = asyncio.get_running_loop().call_later(UNDECIDED_SECONDS, peer.release)
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
            if undecided:
                undecided = False
                timer.cancel()
                if message.type == WSMsgType.TEXT and self.dialect.claims_first(message.data):
                    self.clients.pop(peer, None)
                    peer.drop_held()
                    await self.dialect.serve(peer, request, message.data)
                    return
                peer.release()
            try:
                if message.type == WSMsgType.BINARY:
                    await self._on_binary(peer, conn, message.data)
                elif message.type == WSMsgType.TEXT:
                    await self._on_text(peer, conn, message.data)
            except ProtocolError as exc:
                self.send(peer, exc.to_message())
            except Exception as exc:  # noqa: BLE001 - one bad message never kills the connection
                log.exception("error handling a message")
                self.send(peer, protocol.error("internal", f"{type(exc).__name__}: {exc}"))
        if undecided:
            timer.cancel()
        self.clients.pop(peer, None)

    async def _on_text(self, peer: Peer, conn: Connection, text: str) -> None:
        for owed in handlers.drop_upload(conn):
            self.send(peer, owed)
        msg = handlers.read_text(text, self.max_text, handlers.file_kinds(self.services))
        route = handlers.route(msg)
        prepared = await asyncio.to_thread(route.prepare, self.services, msg) if route.prepare else None
        self.perform(peer, route.handle(self.services, conn, msg, prepared))

    async def _on_binary(self, peer: Peer, conn: Connection, data: bytes) -> None:
        pending = handlers.take_upload(conn, data, self.max_upload)
        try:
            name = await asyncio.to_thread(store_upload, self.input_dir, pending["name"], data,
                                           pending.get("overwrite", False))
        except UploadRefused as exc:
            raise ProtocolError("bad_upload", str(exc), pending.get("id")) from None
        self.send(peer, handlers.uploaded(pending, name, len(data)))

    async def close_all(self) -> None:
        """Server shutdown: every connection closes with 1001 (going away)."""
        peers = list(self.clients)
        self.clients.clear()
        for peer in peers:
            peer.closed = True
            await peer.ws.close(code=1001, message=b"server shutdown")
        if self.dialect is not None:
            await self.dialect.close_all()
