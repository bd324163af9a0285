"""HTTP GET on the server's port: who may connect (``security``), which file a path names
(``static``), and the canvas and output files themselves. Everything else goes over /ws."""
from __future__ import annotations

import asyncio
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from . import security, static

_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                     "Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}


class HttpGate:
    """``process_request`` for ``websockets.serve``: answers GETs, admits (or refuses) /ws."""

    def __init__(self, web_dir: Path, output_dir: Path, token: str | None, allowed_hosts: set[str]):
        self.web_dir = Path(web_dir)
        self.output_dir = Path(output_dir)
        self.token = token
        self.allowed = allowed_hosts

    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if getattr(request, "method", "GET") != "GET":
            return text_response(405, "only GET is served; commands and uploads go over /ws\n", {"Allow": "GET"})
        headers = request.headers
        hosts = headers.get_all("Host")
        if len(hosts) != 1 or not security.host_allowed(hosts[0], self.allowed):
            return text_response(403, "Host not allowed (use localhost, 127.0.0.1 or a host given with "
                                      "--allow-host)\n")
        try:
            area, name = static.route(request.path)
        except static.Refused as exc:
            return text_response(exc.status, f"{exc.reason}\n")
        authorization = headers.get_all("Authorization")
        presented = security.request_token(request.path, authorization[0] if len(authorization) == 1 else None)
        if area == "ws":
            origins = headers.get_all("Origin")
            if len(origins) > 1 or not security.origin_allowed(origins[0] if origins else None, hosts[0]):
                return text_response(403, "cross-origin websocket refused\n")
            if not security.token_ok(self.token, presented):
                return text_response(401, "token required\n", {"WWW-Authenticate": "Bearer"})
            return None
        if area == "favicon":
            path = self.web_dir / name
            if path.is_file():
                return await asyncio.to_thread(self.file_response, self.web_dir, name, "web")
            return response(200, static.FAVICON_SVG, "image/svg+xml", "max-age=300")
        if area == "output":
            if not security.token_ok(self.token, presented):
                return text_response(401, "token required\n", {"WWW-Authenticate": "Bearer"})
            return await asyncio.to_thread(self.file_response, self.output_dir, name, "output")
        return await asyncio.to_thread(self.file_response, self.web_dir, name, "web")

    def file_response(self, root: Path, name: str, area: str) -> Response:
        try:
            path = static.resolve_inside(root, name)
            body = path.read_bytes()
        except static.Refused as exc:
            if area == "web" and name == "index.html":
                return text_response(404, f"the web canvas is not installed ({root / 'index.html'} is missing)\n")
            return text_response(exc.status, f"{exc.reason}\n")
        except OSError:
            return text_response(404, "not found\n")
        return response(200, body, static.content_type(path.name), static.cache_control(path.name, area))


def response(status: int, body: bytes, content_type: str, cache_control: str = "no-cache",
             extra: dict[str, str] | None = None) -> Response:
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = cache_control
    for key, value in {**_SECURITY_HEADERS, **(extra or {})}.items():
        headers[key] = value
    headers["Connection"] = "close"
    return Response(status, HTTPStatus(status).phrase, headers, body)


def text_response(status: int, text: str, extra: dict[str, str] | None = None) -> Response:
    return response(status, text.encode(), "text/plain; charset=utf-8", "no-store", extra)
