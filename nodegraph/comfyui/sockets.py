"""ComfyUI's websocket dialect on ``/ws``: its clients, and the job events they get.

A connection is ComfyUI's when its URL carries ``?clientId=`` or its first frame is
``{"type": "feature_flags"}`` (the frontend's first words); ``ws.Hub`` hands it over here. On
connect it gets ``status`` with its ``sid`` (its clientId, or a new one), and ``executing`` of
the running node if that client's prompt is running (a reconnect).

Every job's native events are translated (``ws_messages``) and sent to the connection whose
sid is the job's ``client_id``; a job without one (queued without ``client_id``, or from
nodegraph's own canvas) goes to every ComfyUI connection, as ComfyUI broadcasts. ``status``
goes to all of them whenever the queue changes; at a job's end the order is its last
messages, ``status``, then ``executing`` with ``node: null``. ``queue_remaining`` counts the
running and pending jobs of the durable queue, so it is never 0 while a prompt is pending.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any, Callable

from aiohttp import WSMsgType, web

from ..server.ws import Peer
from .history import IMAGE_SUFFIXES
from .ws_messages import FORMAT_JPEG, FORMAT_PNG, PromptMessages, dumps, preview_frame, status_data

log = logging.getLogger("nodegraph.comfyui")

_SID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_PREVIEW = 4 << 20  # bytes of one image file sent as a binary preview frame
# extra_data.preview_method values that ask for previews (ComfyUI's "none"/"default" do not)
PREVIEW_METHODS = ("auto", "latent2rgb", "taesd")


class ComfySockets:
    def __init__(self, store, folders: dict[str, Path], features: Callable[[], dict[str, Any]],
                 node_types: Callable[[Any], dict[str, str]]):
        self.store = store
        self.folders = folders
        self.features = features
        self.node_types = node_types  # record -> {node id: ComfyUI class}
        self.peers: dict[str, Peer] = {}
        self.jobs: dict[str, PromptMessages] = {}
        self.client_of: dict[str, str | None] = {}  # job -> its client_id (None: broadcast)
        self.previews_for: set[str] = set()  # jobs whose client asked for preview frames
        self.log_clients: set[str] = set()  # clients whose Logs panel is open

    def subscribe_logs(self, client_id: str, enabled: bool) -> None:
        (self.log_clients.add if enabled else self.log_clients.discard)(client_id)

    def push_log(self, entry: dict[str, Any]) -> None:
        """One new log line as ComfyUI's ``logs`` message, to the clients that subscribed."""
        from .logs import SIZE
        text = None
        for client in list(self.log_clients):
            peer = self.peers.get(client)
            if peer is None:
                continue
            text = text or dumps("logs", {"entries": [entry], "size": dict(SIZE)})
            peer.send(text)

    # --- the dialect -------------------------------------------------------------------
    def claims_url(self, request: web.Request) -> bool:
        return "clientId" in request.query

    def claims_first(self, text: str) -> bool:
        if '"feature_flags"' not in text:
            return False
        try:
            data = json.loads(text)
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("type") == "feature_flags"

    async def serve(self, peer: Peer, request: web.Request, first: str | None) -> None:
        sid = request.query.get("clientId") or ""
        if not _SID.match(sid):
            sid = uuid.uuid4().hex
        old = self.peers.get(sid)
        if old is not None and old is not peer:
            old.kill(1000, "replaced by a new connection of the same client")
        self.peers[sid] = peer
        try:
            peer.send(dumps("status", status_data(self.queue_remaining(), sid)))
            for job_id, messages in self.jobs.items():
                if self.client_of.get(job_id) == sid and messages.current is not None:
                    peer.send(dumps("executing", {"node": messages.current, "display_node": messages.current,
                                                  "prompt_id": job_id}))
            if first is not None:
                self._on_text(peer, first)
            async for message in peer.ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(peer, message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            if self.peers.get(sid) is peer:
                del self.peers[sid]

    def _on_text(self, peer: Peer, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            return  # ComfyUI logs and ignores a frame it cannot read
        if isinstance(data, dict) and data.get("type") == "feature_flags":
            peer.send(dumps("feature_flags", self.features()))

    async def close_all(self) -> None:
        peers = list(self.peers.values())
        self.peers.clear()
        for peer in peers:
            peer.closed = True
            await peer.ws.close(code=1001, message=b"server shutdown")

    # --- the listener ------------------------------------------------------------------
    def queue_remaining(self) -> int:
        return self.store.select(("pending", "running"), 0)[1]

    def on_status(self) -> None:
        if not self.peers:
            return
        text = dumps("status", status_data(self.queue_remaining()))
        for peer in list(self.peers.values()):
            peer.send(text)

    def remember(self, job_id: str, client_id: str | None, previews: bool = False) -> None:
        """What POST /prompt knows about a job before its first event."""
        self.client_of[job_id] = client_id
        if previews:
            self.previews_for.add(job_id)

    def _targets(self, job_id: str) -> list[Peer]:
        client = self.client_of.get(job_id)
        if client is None:
            return list(self.peers.values())
        peer = self.peers.get(client)
        return [peer] if peer is not None else []

    def _translator(self, job_id: str) -> PromptMessages:
        messages = self.jobs.get(job_id)
        if messages is None:
            record = self.store.get(job_id)
            types: dict[str, str] = {}
            if record is not None:
                comfy = (record.meta or {}).get("comfyui") or {}
                if job_id not in self.client_of:
                    self.client_of[job_id] = comfy.get("client_id")
                    if (comfy.get("extra_data") or {}).get("preview_method") in PREVIEW_METHODS:
                        self.previews_for.add(job_id)
                types = self.node_types(record)
            messages = self.jobs[job_id] = PromptMessages(job_id, self.folders, types)
        return messages

    def on_event(self, job_id: str, event: dict[str, Any]) -> None:
        # Translated even with nobody listening: a client connecting mid-job needs the state.
        translator = self._translator(job_id)
        out = translator.on_event(event)
        targets = self._targets(job_id)
        if targets and event.get("event") == "executed" and job_id in self.previews_for:
            for frame in self._previews(event):
                for peer in targets:
                    peer.send(frame)
        for kind, data in out if targets else ():
            text = dumps(kind, data)
            for peer in targets:
                peer.send(text)
        if event.get("event") == "done":
            self.on_status()
            end = dumps(*translator.end())
            for peer in self._targets(job_id):
                peer.send(end)
            self.jobs.pop(job_id, None)
            self.client_of.pop(job_id, None)
            self.previews_for.discard(job_id)

    def _previews(self, event: dict[str, Any]) -> list[bytes]:
        frames = []
        for path in event.get("outputs") or ():
            suffix = Path(str(path)).suffix.lower()
            if suffix not in IMAGE_SUFFIXES or suffix not in (".png", ".jpg", ".jpeg"):
                continue
            try:
                p = Path(path)
                if p.stat().st_size > MAX_PREVIEW:
                    continue
                frames.append(preview_frame(p.read_bytes(), FORMAT_PNG if suffix == ".png" else FORMAT_JPEG))
            except OSError:
                continue
        return frames
