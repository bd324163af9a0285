"""``nodegraph run --server URL``: run a workflow on a running server, as if it ran here.

The server (``nodegraph serve``, often the canvas's, with models already warm) does the work;
this client speaks the websocket protocol of docs/protocol.md:

- the workflow is read and ``--set`` applied here (values parsed by the server's catalogue);
- file inputs that exist on this machine are uploaded (the protocol takes images) and renamed
  to what the server stored; names the server resolves itself (its own folders, ``demo:``) stay;
- the job's events are streamed to the same sinks as a local run (progress bars, summary,
  ``--events jsonl``); output files are fetched into ``--out`` as their events arrive, and the
  events name the local copies, as a local run's would;
- Ctrl-C interrupts the remote job (a second one stops waiting); exit codes are a local run's.

Importing this module imports no third-party package; websockets is imported when used.
"""
from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..api.errors import Problem, UsageError, WorkflowInvalid
from ..run.events import Sink

UPLOAD_KINDS = ("image",)  # what the server's upload message accepts


@dataclass
class _Input:
    widget: str | None


@dataclass
class _Node:
    inputs: dict[str, _Input]


@dataclass
class Catalogue:
    """The server's catalogue, shaped as much like a Registry as ``apply_overrides`` needs."""
    nodes: dict[str, dict] = field(default_factory=dict)

    def get(self, node_type: str) -> _Node | None:
        entry = self.nodes.get(node_type)
        if entry is None:
            return None
        return _Node({i["name"]: _Input(i.get("widget")) for i in entry.get("inputs", [])})

    def file_inputs(self, node_type: str) -> dict[str, dict]:
        entry = self.nodes.get(node_type) or {}
        return {i["name"]: i["file"] for i in entry.get("inputs", []) if i.get("file")}


def endpoints(url: str, token: str | None) -> tuple[str, str, str | None]:
    """(websocket URL, HTTP base URL, token) from what the user passed (http(s):// or ws(s)://,
    with or without /ws, and the token from ``#token=T`` as the server prints it)."""
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise UsageError(f"--server {url!r}: expected http://HOST:PORT/ (as `nodegraph serve` prints it)")
    fragment = urllib.parse.parse_qs(parts.fragment)
    token = token or (fragment.get("token") or [None])[0] or os.environ.get("NODEGRAPH_TOKEN") or None
    secure = parts.scheme in ("https", "wss")
    path = parts.path.rstrip("/")
    path = path[: -len("/ws")] if path.endswith("/ws") else path
    http_base = f"{'https' if secure else 'http'}://{parts.netloc}{path}"
    ws_url = f"{'wss' if secure else 'ws'}://{parts.netloc}{path}/ws"
    if token:
        ws_url += "?" + urllib.parse.urlencode({"token": token})
    return ws_url, http_base, token


class RemoteRun:
    """One workflow run on a server; ``run`` returns the final status (success/failed/interrupted)."""

    def __init__(self, url: str, token: str | None, out_dir: Path, sink: Sink, timeout: float = 30.0):
        self.ws_url, self.http_base, self.token = endpoints(url, token)
        self.out_dir = Path(out_dir)
        self.sink = sink
        self.timeout = timeout
        self.ws = None
        self.job: str | None = None
        self._n = 0
        self._pending: list[dict] = []  # frames read while waiting for a reply
        self._fetched: dict[str, Path] = {}  # output URL -> local copy
        self._sweep_folder: str | None = None  # a sweep job's folder URL (/output/sweeps/sweep-<id>)

    # --- connection ------------------------------------------------------------------------
    def connect(self) -> None:
        try:
            from websockets.sync.client import connect
        except ImportError as exc:  # pragma: no cover - websockets is a dependency
            raise UsageError(f"--server needs the websockets package: {exc}") from None
        try:
            self.ws = connect(self.ws_url, open_timeout=self.timeout, max_size=None, compression=None)
        except Exception as exc:  # noqa: BLE001 - refused, 401, bad host: one clear line
            raise UsageError(f"cannot connect to the server at {self.http_base}: {_why(exc)}") from None
        self.request({"type": "hello"})

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def _recv(self, timeout: float | None, kept_first: bool = True) -> dict | None:
        """The next JSON frame (frames kept aside by ``request`` first), or None on timeout."""
        if kept_first and self._pending:
            return self._pending.pop(0)
        try:
            frame = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return None
        except Exception as exc:  # noqa: BLE001 - the connection dropped
            raise UsageError(f"lost the connection to the server: {_why(exc)}") from None
        return json.loads(frame)

    def request(self, message: dict, binary: bytes | None = None) -> dict:
        """Send ``message`` (and a binary frame after it) and wait for the reply with its id."""
        self._n += 1
        message = {**message, "id": f"cli{self._n}"}
        self.ws.send(json.dumps(message))
        if binary is not None:
            self.ws.send(binary)
        kept = []  # other frames (a job's events) are kept for ``stream`` in their order
        try:
            while True:
                frame = self._recv(self.timeout, kept_first=False)
                if frame is None:
                    raise UsageError(f"the server did not answer {message['type']!r} in {self.timeout:g} s")
                if frame.get("id") == message["id"]:
                    return frame
                kept.append(frame)
        finally:
            self._pending = kept + self._pending

    # --- the job ----------------------------------------------------------------------------
    def catalogue(self) -> Catalogue:
        reply = self.request({"type": "catalogue"})
        return Catalogue({n["type"]: n for n in reply.get("nodes", [])})

    def upload_local_files(self, data: dict, catalogue: Catalogue) -> None:
        """Replace file inputs that name a file on this machine with the server's copy."""
        for node_id, entry in data["nodes"].items():
            for name, spec in catalogue.file_inputs(entry.get("type", "")).items():
                value = entry.get("inputs", {}).get(name)
                if not isinstance(value, str) or not value or any(value.startswith(s) for s in spec.get("schemes", [])):
                    continue
                local = Path(value).expanduser()
                if not local.is_file():
                    continue  # a name in the server's own folders (validated there)
                if spec["kind"] not in UPLOAD_KINDS:
                    if local.is_absolute():
                        raise UsageError(f"{node_id}.{name}: {value!r} is a {spec['kind']} file on this machine; "
                                         f"the server only takes uploads of {', '.join(UPLOAD_KINDS)} files. "
                                         f"Put it in the server's models folder and name it relative to that")
                    continue  # a relative name that also exists here: the server's folders decide
                reply = self.request({"type": "upload", "name": local.name, "kind": spec["kind"]},
                                     binary=local.read_bytes())
                if reply.get("type") != "uploaded":
                    raise UsageError(f"{node_id}.{name}: upload of {value!r} refused: {reply.get('message')}")
                entry["inputs"][name] = reply["name"]

    def queue(self, data: dict) -> None:
        reply = self.request({"type": "queue", "workflow": data})
        if reply.get("type") == "error":
            if reply.get("code") == "invalid_workflow":
                raise WorkflowInvalid([_problem(p) for p in reply.get("problems", [])])
            raise UsageError(f"the server refused the job: {reply.get('message')}")
        self.job = reply["job"]

    def stream(self, interrupted: Callable[[], bool]) -> str:
        """Feed the job's events to the sink until ``done``; returns its status."""
        asked = False
        while True:
            if interrupted() and not asked:
                self.ws.send(json.dumps({"type": "interrupt", "job": self.job}))
                asked = True
            frame = self._recv(0.2)
            if frame is None or frame.get("type") != "event" or frame.get("job") != self.job:
                continue
            event = {k: v for k, v in frame.items() if k not in ("type", "urls", "sheet_url")}
            if event["event"] in ("executed", "cached", "done", "cell") and frame.get("urls"):
                event["outputs"] = [str(self._fetch(url)) for url in frame["urls"]]
            if event["event"] == "cell" and frame.get("sheet_url"):
                self._sweep_folder = frame["sheet_url"].split("?")[0].rsplit("/", 1)[0]
                event["sheet"] = str(self._sweep_target(frame["sheet_url"]))  # fetched with ``done``
            if event["event"] == "done" and isinstance(event.get("sweep"), dict):
                event["sweep"] = self._fetch_sweep(event["sweep"])
            self.sink(event)
            if event["event"] == "done":
                return event["status"]

    def _sweep_target(self, url: str) -> Path:
        """Where a file of the sweep's folder (``/output/sweeps/sweep-<id>/<name>``) is copied:
        the same place under the local output folder."""
        parts = urllib.parse.unquote(urllib.parse.urlsplit(url).path).split("/")
        return self.out_dir.joinpath(*parts[-3:])

    def _fetch_sweep(self, sweep: dict) -> dict:
        """``done``'s sweep, its index and contact sheet pages copied here and named locally."""
        folder = self._sweep_folder
        if folder is None:  # no cell finished: nothing was written to fetch
            return sweep
        index = self._fetch(folder + "/index.json", self._sweep_target(folder + "/index.json"))
        for page in json.loads(index.read_text(encoding="utf-8")).get("sheets", []):
            self._fetch(f"{folder}/{page['file']}", self._sweep_target(f"{folder}/{page['file']}"))
        return {**sweep, "index": str(index), "sheet": str(self._sweep_target(folder + "/sheet.png"))}

    def _fetch(self, url: str, target: Path | None = None) -> Path:
        """Copy one output file (``/output/<name>``) into the output folder (or to ``target``);
        returns its path."""
        name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
        target = target or self.out_dir / Path(name).name
        if url in self._fetched:  # reported again by ``done``
            return self._fetched[url]
        full = urllib.parse.urljoin(self.http_base + "/", url.lstrip("/"))
        if self.token and "token=" not in full:
            full += ("&" if "?" in full else "?") + urllib.parse.urlencode({"token": self.token})
        target.parent.mkdir(parents=True, exist_ok=True)
        from ..files.roots import atomic_write
        with urllib.request.urlopen(full, timeout=self.timeout) as response:  # noqa: S310 - the user's server
            atomic_write(target, response.read())
        self._fetched[url] = target
        return target


def _problem(data: dict) -> Problem:
    return Problem(data.get("code", "invalid"), data.get("message", ""), node=data.get("node"),
                   input=data.get("input"))


def _why(exc: BaseException) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401:
        return "401 unauthorized (pass --token, or the URL with #token=... as the server printed it)"
    if status is not None:
        return f"HTTP {status}"
    return str(exc) or type(exc).__name__
