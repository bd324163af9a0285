"""The HTTP layer on its own (security middleware + static files, no session, no worker): the
statuses, bodies and headers a browser would see, over a real socket."""
from __future__ import annotations

import asyncio
import base64
import os
import threading
from pathlib import Path

import pytest
from aiohttp import web

from nodegraph.server import static
from nodegraph.server.web import SecurityLayer, StaticFiles, add_security_headers, public, response, text_response
from serverkit import raw_request

SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
            "content-security-policy": "frame-ancestors 'none'", "x-frame-options": "DENY"}


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "web" / "lib").mkdir(parents=True)
    (tmp_path / "web" / "index.html").write_text("<html>canvas</html>")
    (tmp_path / "web" / "lib" / "app.js").write_text("export {}")
    (tmp_path / "web" / "logo.png").write_bytes(b"\x89PNG")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "img.png").write_bytes(b"\x89PNG-output")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", tmp_path / "web" / "leak.txt")
    return tmp_path


class Running:
    """The layer as an aiohttp app on a free port, in its own thread and loop."""

    def __init__(self, tree: Path, token: str | None):
        self.layer = SecurityLayer(token, frozenset({"localhost", "127.0.0.1", "::1"}))
        files = StaticFiles(tree / "web", tree / "out")

        async def ws_stand_in(request):  # what reaches /ws once the layer let it through
            return text_response(200, "admitted\n")

        async def api(request):
            return text_response(200, "api\n")

        app = web.Application(middlewares=[self.layer.middleware])
        app.on_response_prepare.append(add_security_headers)
        app.router.add_route("GET", "/ws", ws_stand_in)
        app.router.add_route("POST", "/prompt", api)
        app.router.add_routes(files.routes())
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, args=(app,), daemon=True)
        self.thread.start()
        assert self.ready.wait(20)

    def _run(self, app):
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())

    def ask(self, path, method="GET", host="localhost:8188", headers=None):
        return raw_request(self.port, path, headers or {}, host=host, method=method)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def gate(tree):
    made = []

    def make(token=None):
        made.append(Running(tree, token))
        return made[-1]

    yield make
    for running in made:
        running.stop()


def check_common(answer, status, content_type, cache):
    code, headers, body = answer
    assert code == status, answer
    assert headers["content-type"] == content_type
    assert headers["cache-control"] == cache
    assert headers["content-length"] == str(len(body))
    for key, value in SECURITY.items():
        assert headers[key] == value


def check_text(answer, status, text):
    check_common(answer, status, "text/plain; charset=utf-8", "no-store")
    assert answer[2] == text.encode()


def test_serves_canvas_files_with_their_types(gate):
    g = gate()
    answer = g.ask("/")
    check_common(answer, 200, "text/html; charset=utf-8", "no-cache")
    assert answer[2] == b"<html>canvas</html>"
    answer = g.ask("/web/lib/app.js")
    check_common(answer, 200, "text/javascript; charset=utf-8", "no-cache")
    assert answer[2] == b"export {}"
    answer = g.ask("/logo.png")
    check_common(answer, 200, "image/png", "max-age=300")
    assert answer[2] == b"\x89PNG"


def test_refusals(gate):
    g = gate()
    check_text(g.ask("/lib/missing.js"), 404, "not found\n")
    check_text(g.ask("/lib"), 404, "not found\n")
    check_text(g.ask("/leak.txt"), 403, "outside the served folder\n")
    check_text(g.ask("/%2e%2e/secret.txt"), 400, "bad path\n")
    check_text(g.ask("/.env"), 404, "not found\n")
    check_text(g.ask("/output/../secret.txt"), 400, "bad path\n")
    # aiohttp routes on the decoded path; the handler reads the raw one and refuses a mismatch
    check_text(g.ask("/a/../output/img.png"), 400, "bad path\n")


def test_only_get_on_files(gate):
    g = gate()
    for method in ("POST", "HEAD", "PUT"):
        code, headers, body = g.ask("/", method=method)
        assert code == 405 and headers["allow"] == "GET", (method, code)
        assert b"canvas" not in body


@pytest.mark.parametrize("host", ["evil.com", "localhost:x", "127.0.0.1.nip.io", ""])
def test_host_must_be_an_allowed_name(gate, host):
    g = gate()
    for path in ("/", "/ws", "/output/img.png"):
        check_text(g.ask(path, host=host), 403, "Host not allowed (use localhost, 127.0.0.1 or a host given "
                                                "with --allow-host)\n")
    assert g.ask("/prompt", method="POST", host=host)[0] == 403


def test_missing_canvas_names_the_missing_file(tree, gate):
    (tree / "web" / "index.html").unlink()
    g = gate()
    check_text(g.ask("/"), 404, f"the web canvas is not installed ({tree / 'web' / 'index.html'} is missing)\n")
    check_text(g.ask("/index.html"), 404,
               f"the web canvas is not installed ({tree / 'web' / 'index.html'} is missing)\n")
    check_text(g.ask("/other.html"), 404, "not found\n")


def test_unreadable_file_is_a_404(tree, gate, monkeypatch):
    def fail(self):
        raise PermissionError("denied")
    g = gate()
    monkeypatch.setattr(Path, "read_bytes", fail)
    check_text(g.ask("/logo.png"), 404, "not found\n")


def test_origin_checked_on_every_protected_route(gate):
    g = gate()
    assert g.ask("/ws")[2] == b"admitted\n"  # non-browser client without Origin
    assert g.ask("/ws", headers={"Origin": "http://localhost:8188"})[2] == b"admitted\n"
    check_text(g.ask("/ws", headers={"Origin": "http://evil.com:8188"}), 403, "cross-origin websocket refused\n")
    # a foreign page POSTing a prompt (a "simple" request browsers send without asking)
    check_text(g.ask("/prompt", method="POST", headers={"Origin": "http://evil.com", "Content-Length": "0"}),
               403, "cross-origin request refused\n")
    assert g.ask("/prompt", method="POST", headers={"Origin": "http://localhost:8188", "Content-Length": "0"})[0] \
        == 200
    # the UI's own files answer whatever the Origin (they hold no secret)
    assert g.ask("/", headers={"Origin": "http://evil.com"})[0] == 200


def test_token_every_way_a_client_can_present_it(gate):
    g = gate(token="s3cret")
    for headers, path in (({}, "/ws"), ({}, "/ws?token=wrong"), ({"Authorization": "Bearer wrong"}, "/ws"),
                          ({"Cookie": "nodegraph_token=wrong"}, "/ws"),
                          ({"Authorization": "Basic " + base64.b64encode(b"u:wrong").decode()}, "/ws"),
                          ({}, "/output/img.png"), ({"Content-Length": "0"}, "/prompt")):
        method = "POST" if path == "/prompt" else "GET"
        answer = g.ask(path, method=method, headers=headers)
        check_text(answer, 401, "token required\n")
        assert answer[1]["www-authenticate"] == "Bearer"
    basic = "Basic " + base64.b64encode(b"anyone:s3cret").decode()
    for headers, path in (({}, "/ws?token=s3cret"), ({"Authorization": "Bearer s3cret"}, "/ws"),
                          ({"Cookie": "nodegraph_token=s3cret"}, "/ws"), ({"Authorization": basic}, "/ws")):
        assert g.ask(path, headers=headers)[2] == b"admitted\n", headers
    answer = g.ask("/output/img.png?token=s3cret")
    check_common(answer, 200, "image/png", "no-cache")
    assert answer[2] == b"\x89PNG-output"
    assert g.ask("/output/img.png", headers={"Cookie": "nodegraph_token=s3cret"})[2] == b"\x89PNG-output"
    assert g.ask("/logo.png")[0] == 200  # the UI's own files are public
    check_text(g.ask("/output/none.png?token=s3cret"), 404, "not found\n")


def test_token_in_the_page_url_becomes_a_cookie(gate):
    g = gate(token="s3cret")
    code, headers, _ = g.ask("/?token=s3cret&x=1")
    assert code == 303 and headers["location"] == "/?x=1"
    cookie = headers["set-cookie"]
    assert cookie.startswith("nodegraph_token=s3cret;") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert g.ask("/?token=wrong")[0] == 401
    assert g.ask("/")[0] == 200  # without a token: the page, which then asks for one


def test_favicon_fallback_and_override(tree, gate):
    g = gate()
    answer = g.ask("/favicon.ico")
    check_common(answer, 200, "image/svg+xml", "max-age=300")
    assert answer[2] == static.FAVICON_SVG
    (tree / "web" / "favicon.svg").write_bytes(b"<svg>mine</svg>")
    answer = g.ask("/favicon.svg")
    check_common(answer, 200, "image/svg+xml", "max-age=300")
    assert answer[2] == b"<svg>mine</svg>"
    assert g.ask("/favicon.ico")[2] == static.FAVICON_SVG


def test_response_helpers():
    resp = response(200, b"abc", "image/png")
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/png" and resp.body == b"abc"
    assert resp.headers["Cache-Control"] == "no-cache"
    resp = response(404, b"", "text/plain", "max-age=1", {"X-Extra": "1"})
    assert resp.headers["X-Extra"] == "1" and resp.headers["Cache-Control"] == "max-age=1"
    resp = text_response(400, "héllo\n")
    assert resp.body == "héllo\n".encode() and resp.headers["Cache-Control"] == "no-store"
    assert public(lambda r: None).nodegraph_public is True
