"""Helpers for the server tests: workflows, a websocket client, raw HTTP requests."""
from __future__ import annotations

import base64
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable

PLUGINS = Path(__file__).resolve().parent / "plugins"


def workflow(nodes: dict[str, Any]) -> dict[str, Any]:
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def link(node: str, output: str) -> dict[str, str]:
    return {"from": node, "output": output}


def add_show(a: int, b: int) -> dict[str, Any]:
    """A trivial, fast workflow: Int a, MathInt a+b, Show."""
    return workflow({"a": {"type": "Int", "inputs": {"value": a}},
                     "sum": {"type": "MathInt", "inputs": {"a": link("a", "value"), "b": b}},
                     "show": {"type": "Show", "inputs": {"value": link("sum", "value")}}})


def sleeper(seconds: float, value: int = 0) -> dict[str, Any]:
    return workflow({"sleep": {"type": "TestSleep", "inputs": {"seconds": seconds, "value": value}},
                     "show": {"type": "Show", "inputs": {"value": link("sleep", "value")}}})


class Client:
    """A websockets.sync client with helpers: request/reply by id, wait for a message."""

    def __init__(self, port: int, token: str | None = None, **kwargs: Any):
        from websockets.sync.client import connect
        url = f"ws://127.0.0.1:{port}/ws" + (f"?token={token}" if token else "")
        self.ws = connect(url, open_timeout=10, max_size=None, compression=None,
                           max_queue=None, **kwargs).__enter__()
        self.seen: list[dict] = []
        self._n = 0

    def send(self, msg: dict | str | bytes) -> None:
        self.ws.send(json.dumps(msg) if isinstance(msg, dict) else msg)

    def recv(self, timeout: float = 10.0) -> dict:
        msg = json.loads(self.ws.recv(timeout=timeout))
        self.seen.append(msg)
        return msg

    def wait(self, pred: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching message; last seen: {self.seen[-5:]}")
            msg = self.recv(left)
            if pred(msg):
                return msg

    def request(self, msg: dict, timeout: float = 10.0) -> dict:
        self._n += 1
        msg = {**msg, "id": f"r{self._n}"}
        self.send(msg)
        return self.wait(lambda m: m.get("id") == msg["id"], timeout)

    def queue(self, wf: dict, **extra: Any) -> dict:
        return self.request({"type": "queue", "workflow": wf, **extra})

    def events(self, job: str, timeout: float = 20.0) -> list[dict]:
        """Collect the job's events up to its ``done``."""
        out: list[dict] = []
        deadline = time.monotonic() + timeout
        for m in self.seen:
            if m.get("type") == "event" and m.get("job") == job:
                out.append(m)
        while not out or out[-1]["event"] != "done":
            m = self.recv(max(0.01, deadline - time.monotonic()))
            if m.get("type") == "event" and m.get("job") == job:
                out.append(m)
        return out

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()




def _complete(data: bytes) -> bool:
    """Whether ``data`` holds a whole HTTP answer: its head and as many body bytes as it says."""
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or 0)
    return False


def raw_request(port: int, path: str, headers: dict[str, str] | None = None, host: str | None = None,
                method: str = "GET", websocket: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request on a plain socket, exactly as written (no client-side path clean-up)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host if host is not None else f'127.0.0.1:{port}'}"]
    if not websocket:
        lines.append("Connection: close")  # read to the end: the server keeps connections alive otherwise
    if websocket:
        lines += ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                  f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
            if websocket and b"\r\n\r\n" in data and (data.startswith(b"HTTP/1.1 101") or _complete(data)):
                break  # an upgrade request keeps the connection open: stop at the end of the answer
    if not data:
        return 0, {}, b""
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(status_line.split()[1]), hdrs, body
