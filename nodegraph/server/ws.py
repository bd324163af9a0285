"""The thin websockets layer: frames in, the handler table, frames out.

``Hub`` owns the open connections. For each text frame it asks ``handlers`` for the route,
runs the route's blocking ``prepare`` step in a thread, calls the pure handler on the event
loop and performs the ``Outcome`` (replies, then worker wake-up and status broadcast). Events
from the worker thread arrive through ``sink_for(job)`` and are hopped onto the loop with
``call_soon_threadsafe``, so a job's events are written in order and after its ``queued`` reply.
A client too slow to read its frames is disconnected rather than buffered without bound.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Callable

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from ..run.events import Sink
from . import handlers, protocol
from .handlers import Connection, Outcome, Services
from .protocol import ProtocolError
from .uploads import UploadRefused, store_upload

log = logging.getLogger("nodegraph.server")

MAX_CLIENT_BUFFER = 32 << 20  # a client this far behind is disconnected (1008)


class Hub:
    def __init__(self, services: Services, wake_worker: Callable[[], None], input_dir: Path, output_dir: Path,
                 max_text: int, max_upload: int | None = None):
        self.max_upload = max_upload
        self.services = services
        self.wake_worker = wake_worker
        self.input_dir = Path(input_dir)
        self.output_dir = Path(output_dir)
        self.max_text = max_text
        self.clients: dict[ServerConnection, Connection] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

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
    def _write(self, sockets, text: str) -> None:
        """Write now (ordered with events; no backpressure, bounded by MAX_CLIENT_BUFFER)."""
        live = []
        for ws in sockets:
            transport = ws.transport
            if transport is not None and transport.get_write_buffer_size() > MAX_CLIENT_BUFFER:
                asyncio.ensure_future(ws.close(1008, "client too slow"))
                continue
            live.append(ws)
        if live:
            broadcast(live, text)

    def send(self, ws: ServerConnection, message: dict[str, Any]) -> None:
        self._write([ws], protocol.dumps(message))

    def broadcast_status(self) -> None:
        self._write(list(self.clients), protocol.dumps(handlers.status_message(self.services)))

    def _on_event(self, job_id: str, event: dict) -> None:
        targets = [ws for ws, conn in self.clients.items() if conn.wants(job_id)]
        if event.get("event") == "done":  # its last event: a connection that queued a job a
            for conn in self.clients.values():  # second for hours would otherwise keep every id
                conn.jobs.discard(job_id)
        if not targets:
            return
        token = self.services.token
        self._write(targets, protocol.dumps(protocol.event_message(event, self.output_dir, token)))
        for preview in protocol.preview_messages(event, self.output_dir, token):
            self._write(targets, protocol.dumps(preview))

    def perform(self, ws: ServerConnection, outcome: Outcome) -> None:
        for reply in outcome.replies:
            self.send(ws, reply)
        if outcome.wake_worker:
            self.wake_worker()
        if outcome.status_changed:
            self.broadcast_status()

    # --- reading -------------------------------------------------------------------------
    async def handler(self, ws: ServerConnection) -> None:
        conn = self.clients[ws] = Connection()
        try:
            async for message in ws:
                try:
                    if isinstance(message, bytes):
                        await self._on_binary(ws, conn, message)
                    else:
                        await self._on_text(ws, conn, message)
                except ProtocolError as exc:
                    self.send(ws, exc.to_message())
                except Exception as exc:  # noqa: BLE001 - one bad message never kills the connection
                    log.exception("error handling a message")
                    self.send(ws, protocol.error("internal", f"{type(exc).__name__}: {exc}"))
        except ConnectionClosed:
            pass
        finally:
            self.clients.pop(ws, None)

    async def _on_text(self, ws: ServerConnection, conn: Connection, text: str) -> None:
        for owed in handlers.drop_upload(conn):
            self.send(ws, owed)
        msg = handlers.read_text(text, self.max_text, handlers.file_kinds(self.services))
        route = handlers.route(msg)
        prepared = await asyncio.to_thread(route.prepare, self.services, msg) if route.prepare else None
        self.perform(ws, route.handle(self.services, conn, msg, prepared))

    async def _on_binary(self, ws: ServerConnection, conn: Connection, data: bytes) -> None:
        pending = handlers.take_upload(conn, data, self.max_upload)
        try:
            name = await asyncio.to_thread(store_upload, self.input_dir, pending["name"], data,
                                           pending.get("overwrite", False))
        except UploadRefused as exc:
            raise ProtocolError("bad_upload", str(exc), pending.get("id")) from None
        self.send(ws, handlers.uploaded(pending, name, len(data)))
