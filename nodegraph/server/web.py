"""HTTP on the server's port (aiohttp): one security layer in front of every route, and the
static files (the UI's own files, output files).

``SecurityLayer.middleware`` runs before every handler — the UI's files, the websocket, the
ComfyUI routes and any route added later — with the rules of ``security``:

- the ``Host`` must be on the allowlist (DNS rebinding), else 403;
- a request that carries an ``Origin`` must come from the ``Host``'s own origin, else 403 (a
  foreign page cannot POST a prompt or open the websocket); the UI's public files skip this;
- with a token, every route except the UI's public files needs it: ``?token=``,
  ``Authorization: Bearer``, HTTP Basic with the token as password (clients that only take
  ``user:password@host`` URLs), or the ``nodegraph_token`` cookie that ``GET /?token=T`` sets.

Handlers marked ``@public`` (the UI's files, the favicon) hold no secrets. Every response,
errors included, carries the security headers (``on_response_prepare``). aiohttp is imported
only here and in the other server modules, never by the core.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

from . import security, static

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}
HOST_REFUSED = "Host not allowed (use localhost, 127.0.0.1 or a host given with --allow-host)\n"
TOKEN_COOKIE = "nodegraph_token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def public(handler: Handler) -> Handler:
    """Mark a handler whose answers hold no secret (the UI's own files): no token, no Origin check."""
    handler.nodegraph_public = True  # type: ignore[attr-defined]
    return handler


def response(status: int, body: bytes, content_type: str, cache_control: str = "no-cache",
             extra: dict[str, str] | None = None) -> web.Response:
    headers = {"Content-Type": content_type, "Cache-Control": cache_control, **(extra or {})}
    return web.Response(status=status, body=body, headers=headers)


def text_response(status: int, text: str, extra: dict[str, str] | None = None) -> web.Response:
    return response(status, text.encode(), "text/plain; charset=utf-8", "no-store", extra)


def json_response(data: Any, status: int = 200, dumps: Callable[[Any], str] | None = None) -> web.Response:
    import json
    body = (dumps or (lambda d: json.dumps(d, separators=(",", ":"))))(data).encode()
    return response(status, body, "application/json; charset=utf-8", "no-store")


async def add_security_headers(request: web.Request, resp: web.StreamResponse) -> None:
    for key, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(key, value)


class SecurityLayer:
    """Host, Origin and token checks for every request (see the module's docstring)."""

    def __init__(self, token: str | None, allowed_hosts: frozenset[str] | set[str]):
        self.token = token or None
        self.allowed = allowed_hosts

    def presented(self, request: web.Request) -> list[str]:
        """Every token the request presents (query, Bearer, Basic password, cookie)."""
        found = []
        authorization = request.headers.getall("Authorization", [])
        value = security.request_token(request.path_qs, authorization[0] if len(authorization) == 1 else None)
        if value is not None:
            found.append(value)
        if len(authorization) == 1:
            password = security.basic_password(authorization[0])
            if password is not None:
                found.append(password)
        cookie = request.cookies.get(TOKEN_COOKIE)
        if cookie:
            found.append(cookie)
        return found

    def token_ok(self, request: web.Request) -> bool:
        if not self.token:
            return True
        return any(security.token_ok(self.token, value) for value in self.presented(request))

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        hosts = request.headers.getall("Host", [])
        if len(hosts) != 1 or not security.host_allowed(hosts[0], self.allowed):
            return text_response(403, HOST_REFUSED)
        if getattr(request.match_info.handler, "nodegraph_public", False):
            if self.token and request.query.get("token") is not None and request.path in ("/", "/index.html"):
                return self.set_cookie(request)
            return await handler(request)
        origins = request.headers.getall("Origin", [])
        if len(origins) > 1 or not security.origin_allowed(origins[0] if origins else None, hosts[0]):
            what = "websocket" if request.path == "/ws" else "request"
            return text_response(403, f"cross-origin {what} refused\n")
        if not self.token_ok(request):
            return text_response(401, "token required\n", {"WWW-Authenticate": "Bearer"})
        return await handler(request)

    def set_cookie(self, request: web.Request) -> web.StreamResponse:
        """``GET /?token=T``: a valid token becomes an HttpOnly same-site cookie and the browser
        goes on to the page without the token in its address bar (UIs that cannot read
        ``#token=`` themselves, such as ComfyUI's frontend, then send it with every request)."""
        if not security.token_ok(self.token, request.query.get("token")):
            return text_response(401, "token required\n", {"WWW-Authenticate": "Bearer"})
        rest = [(k, v) for k, v in parse_qsl(urlsplit(request.path_qs).query, keep_blank_values=True) if k != "token"]
        location = request.path + (f"?{urlencode(rest)}" if rest else "")
        resp = web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})
        resp.set_cookie(TOKEN_COOKIE, self.token, path="/", httponly=True, samesite="Strict")
        return resp


class StaticFiles:
    """The UI's files (``web_dir``) and the output folder, by ``static``'s path rules."""

    def __init__(self, web_dir: Path, output_dir: Path):
        self.web_dir = Path(web_dir)
        self.output_dir = Path(output_dir)

    def routes(self) -> list[web.RouteDef]:
        # Only GET: HEAD, POST, ... on these paths are 405 with ``Allow: GET``.
        return [web.get("/favicon.ico", self.favicon, allow_head=False),
                web.get("/favicon.svg", self.favicon, allow_head=False),
                web.get("/output/{name:.*}", self.output, allow_head=False),
                web.get("/{name:.*}", self.web, allow_head=False)]

    @staticmethod
    def _area(request: web.Request) -> tuple[str, str]:
        # The raw target, decoded once by static.route: aiohttp routes on the decoded path.
        return static.route(request.raw_path)

    @public
    async def web(self, request: web.Request) -> web.Response:
        try:
            area, name = self._area(request)
        except static.Refused as exc:
            return text_response(exc.status, f"{exc.reason}\n")
        if area != "web":  # routed here on a decoded path that names another area: refuse
            return text_response(404, "not found\n")
        return await asyncio.to_thread(self.file_response, self.web_dir, name, "web")

    @public
    async def favicon(self, request: web.Request) -> web.Response:
        name = request.path[1:]
        if (self.web_dir / name).is_file():
            return await asyncio.to_thread(self.file_response, self.web_dir, name, "web")
        return response(200, static.FAVICON_SVG, "image/svg+xml", "max-age=300")

    async def output(self, request: web.Request) -> web.Response:
        try:
            area, name = self._area(request)
        except static.Refused as exc:
            return text_response(exc.status, f"{exc.reason}\n")
        if area != "output":
            return text_response(404, "not found\n")
        return await asyncio.to_thread(self.file_response, self.output_dir, name, "output")

    def file_response(self, root: Path, name: str, area: str) -> web.Response:
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
