"""Helpers for the ComfyUI API tests: a real `nodegraph serve` process, an HTTP client that
speaks ComfyUI's routes under either prefix, a ComfyUI websocket client, API-format prompts."""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "tests" / "server" / "plugins"
ALIAS_PLUGINS = REPO / "tests" / "comfyui_api" / "plugins"
sys.path.insert(0, str(REPO / "tests" / "server"))
from serverkit import Client as NativeClient  # noqa: E402  (nodegraph's own websocket protocol)


class ServerProcess:
    """`nodegraph serve` in its own process (port 0), on folders under ``root``."""

    def __init__(self, root: Path, token: str | None = None, extra: tuple[str, ...] = (), aliases: bool = True):
        self.root = Path(root)
        self.dirs = {name: self.root / name for name in ("data", "output", "input", "models", "cache")}
        for folder in self.dirs.values():
            folder.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.extra = extra + (("--plugins", str(ALIAS_PLUGINS)) if aliases else ())
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 180) -> "ServerProcess":
        d = self.dirs
        cmd = [sys.executable, "-m", "nodegraph.cli", "serve", "--port", "0", "--device", "cpu",
               "--data-dir", str(d["data"]), "--out", str(d["output"]), "--input-dir", str(d["input"]),
               "--models-dir", str(d["models"]), "--cache-dir", str(d["cache"]), "--plugins", str(PLUGINS),
               *self.extra]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               "HF_HUB_OFFLINE": "1"}
        if self.token:
            env["NODEGRAPH_TOKEN"] = self.token
        self.log = (self.root / f"server-{time.time_ns()}.log").open("w+")
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            line = self.proc.stdout.readline()
            if line.startswith("nodegraph: serving"):
                break
        found = re.search(r":(\d+)/", line)
        if found is None:
            self.log.seek(0)
            raise RuntimeError(f"nodegraph serve did not start: {line!r}\n{self.log.read()[-3000:]}")
        self.port = int(found.group(1))
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def server_log(self) -> str:
        self.log.seek(0)
        return self.log.read()


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.body[:300]!r}>"


class Http:
    """urllib against one server: every route under ``prefix`` ('' or '/api')."""

    def __init__(self, port: int, prefix: str = "", headers: dict[str, str] | None = None):
        self.base = f"http://127.0.0.1:{port}"
        self.prefix = prefix
        self.headers = headers or {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                raw_path: bool = False) -> Response:
        url = self.base + ("" if raw_path else self.prefix) + path
        req = urllib.request.Request(url, data=body, method=method, headers={**self.headers, **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, data: Any = None, raw: bytes | None = None, **kw) -> Response:
        body = raw if raw is not None else (json.dumps(data).encode() if data is not None else b"")
        return self.request("POST", path, body, {"Content-Type": "application/json"} if raw is None else {}, **kw)

    def upload(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> Response:
        body, kind = multipart(fields, files)
        return self.request("POST", path, body, {"Content-Type": kind})

    def prompt(self, prompt: dict, **extra) -> Response:
        return self.post("/prompt", {"prompt": prompt, **extra})


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = "----nodegraph" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, kind) in files.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f'Content-Type: {kind}\r\n\r\n'.encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class ComfyWs:
    """A ComfyUI websocket client (``/ws?clientId=``), collecting messages."""

    def __init__(self, port: int, client_id: str | None = None, headers: dict[str, str] | None = None,
                 query: str = ""):
        from websockets.sync.client import connect
        self.client_id = client_id or uuid.uuid4().hex
        url = f"ws://127.0.0.1:{port}/ws?clientId={self.client_id}{query}"
        self.ws = connect(url, open_timeout=20, max_size=None, additional_headers=headers or {}).__enter__()
        self.seen: list[Any] = []

    def recv(self, timeout: float = 30) -> Any:
        raw = self.ws.recv(timeout=timeout)
        msg = json.loads(raw) if isinstance(raw, str) else raw
        self.seen.append(msg)
        return msg

    def wait(self, pred: Callable[[Any], bool], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching message; last: {self.seen[-6:]}")
            msg = self.recv(left)
            if pred(msg):
                return msg

    def until_done(self, prompt_id: str, timeout: float = 120) -> list[Any]:
        """Messages up to ``executing`` with node null for ``prompt_id`` (ComfyUI's end of a prompt)."""
        start = len(self.seen)
        self.wait(lambda m: isinstance(m, dict) and m["type"] == "executing" and m["data"]["node"] is None
                  and m["data"].get("prompt_id") == prompt_id, timeout)
        return self.seen[start:]

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> "ComfyWs":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- API-format prompts of native nodes ----------------------------------------------------

def add_show(a: int, b: int) -> dict:
    return {"1": {"class_type": "Int", "inputs": {"value": a}},
            "2": {"class_type": "MathInt", "inputs": {"a": ["1", 0], "b": b}},
            "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}


def solid_save(red: float, prefix: str = "solid", size: int = 16) -> dict:
    return {"1": {"class_type": "SolidImage", "inputs": {"width": size, "height": size, "red": red, "green": 0.2,
                                                          "blue": 0.3}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}}}


def load_save(name: str, prefix: str = "loaded") -> dict:
    return {"1": {"class_type": "LoadImage", "inputs": {"image": name}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}}}


def sleeper(seconds: float, value: int = 0) -> dict:
    return {"1": {"class_type": "TestSleep", "inputs": {"seconds": seconds, "value": value}},
            "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}


def png(color=(200, 10, 10), size=(8, 6)) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def wait_until(pred: Callable[[], Any], timeout: float = 60, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError("condition not met in time")
