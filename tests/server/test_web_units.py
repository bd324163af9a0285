"""The HTTP gate answered in-process: statuses, bodies and headers a browser would see."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request

from nodegraph.server import static, web

SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}


def run_coroutine(coro):
    """Run ``coro`` on a fresh loop in its own thread: the browser tests' Playwright keeps an
    event loop running in the main thread for the whole session, where asyncio.run refuses."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


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


def gate(tree, token=None):
    return web.HttpGate(tree / "web", tree / "out", token, {"localhost", "127.0.0.1", "::1"})


def ask(g, path, method="GET", **headers):
    h = Headers()
    h["Host"] = headers.pop("host", "localhost:8188")
    for key, value in headers.items():
        for item in value if isinstance(value, list) else [value]:
            h[key.replace("_", "-")] = item
    return run_coroutine(g.process_request(None, Request(path, h, method)))


def check_common(resp, status, content_type, cache):
    assert resp.status_code == status
    assert resp.reason_phrase == {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                                  404: "Not Found", 405: "Method Not Allowed"}[status]
    assert resp.headers["Content-Type"] == content_type
    assert resp.headers["Cache-Control"] == cache
    assert resp.headers["Content-Length"] == str(len(resp.body))
    assert resp.headers["Connection"] == "close"
    for key, value in SECURITY.items():
        assert resp.headers[key] == value


def check_text(resp, status, body):
    check_common(resp, status, "text/plain; charset=utf-8", "no-store")
    assert resp.body == body.encode()


def test_serves_canvas_files_with_their_types(tree):
    resp = ask(gate(tree), "/")
    check_common(resp, 200, "text/html; charset=utf-8", "no-cache")
    assert resp.body == b"<html>canvas</html>"
    resp = ask(gate(tree), "/web/lib/app.js")
    check_common(resp, 200, "text/javascript; charset=utf-8", "no-cache")
    assert resp.body == b"export {}"
    resp = ask(gate(tree), "/logo.png")
    check_common(resp, 200, "image/png", "max-age=300")
    assert resp.body == b"\x89PNG"


def test_refusals(tree):
    g = gate(tree)
    check_text(ask(g, "/lib/missing.js"), 404, "not found\n")
    check_text(ask(g, "/lib"), 404, "not found\n")
    check_text(ask(g, "/leak.txt"), 403, "outside the served folder\n")
    check_text(ask(g, "/%2e%2e/secret.txt"), 400, "bad path\n")
    check_text(ask(g, "/.env"), 404, "not found\n")
    check_text(ask(g, "/output/../secret.txt"), 400, "bad path\n")


def test_only_get(tree):
    resp = ask(gate(tree), "/", method="POST")
    check_text(resp, 405, "only GET is served; commands and uploads go over /ws\n")
    assert resp.headers["Allow"] == "GET"


@pytest.mark.parametrize("host", ["evil.com", "localhost:x", ["localhost", "localhost"], []])
def test_host_must_be_one_allowed_name(tree, host):
    g = gate(tree)
    h = Headers()
    for item in host if isinstance(host, list) else [host]:
        h["Host"] = item
    resp = run_coroutine(g.process_request(None, Request("/", h)))
    check_text(resp, 403, "Host not allowed (use localhost, 127.0.0.1 or a host given with --allow-host)\n")


def test_missing_canvas_names_the_missing_file(tree):
    (tree / "web" / "index.html").unlink()
    resp = ask(gate(tree), "/")
    check_text(resp, 404, f"the web canvas is not installed ({tree / 'web' / 'index.html'} is missing)\n")
    check_text(ask(gate(tree), "/index.html"), 404,
               f"the web canvas is not installed ({tree / 'web' / 'index.html'} is missing)\n")
    check_text(ask(gate(tree), "/other.html"), 404, "not found\n")


def test_unreadable_file_is_a_404(tree, monkeypatch):
    def fail(self):
        raise PermissionError("denied")
    monkeypatch.setattr(Path, "read_bytes", fail)
    check_text(ask(gate(tree), "/logo.png"), 404, "not found\n")


def test_websocket_admission(tree):
    g = gate(tree)
    assert ask(g, "/ws") is None  # non-browser client without Origin
    assert ask(g, "/ws", Origin="http://localhost:8188") is None
    check_text(ask(g, "/ws", Origin="http://evil.com:8188"), 403, "cross-origin websocket refused\n")
    check_text(ask(g, "/ws", Origin=["http://localhost:8188", "http://localhost:8188"]), 403,
               "cross-origin websocket refused\n")


def test_websocket_token(tree):
    g = gate(tree, token="s3cret")
    for resp in (ask(g, "/ws"), ask(g, "/ws?token=wrong"), ask(g, "/ws", Authorization="Bearer wrong"),
                 ask(g, "/ws", Authorization=["Bearer s3cret", "Bearer s3cret"])):
        check_text(resp, 401, "token required\n")
        assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert ask(g, "/ws?token=s3cret") is None
    assert ask(g, "/ws", Authorization="Bearer s3cret") is None
    assert ask(g, "/ws?token=s3cret", Origin="http://localhost:8188") is None
    check_text(ask(g, "/ws?token=s3cret", Origin="http://evil.com"), 403, "cross-origin websocket refused\n")


def test_output_files_need_the_token(tree):
    g = gate(tree, token="s3cret")
    resp = ask(g, "/output/img.png")
    check_text(resp, 401, "token required\n")
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    resp = ask(g, "/output/img.png?token=s3cret")
    check_common(resp, 200, "image/png", "no-cache")
    assert resp.body == b"\x89PNG-output"
    resp = ask(g, "/output/img.png", Authorization="Bearer s3cret")
    assert resp.body == b"\x89PNG-output"
    assert ask(g, "/logo.png").status_code == 200  # the canvas itself is public
    check_text(ask(g, "/output/none.png?token=s3cret"), 404, "not found\n")


def test_favicon_fallback_and_override(tree):
    resp = ask(gate(tree), "/favicon.ico")
    check_common(resp, 200, "image/svg+xml", "max-age=300")
    assert resp.body == static.FAVICON_SVG
    (tree / "web" / "favicon.svg").write_bytes(b"<svg>mine</svg>")
    resp = ask(gate(tree), "/favicon.svg")
    check_common(resp, 200, "image/svg+xml", "max-age=300")
    assert resp.body == b"<svg>mine</svg>"
    assert ask(gate(tree), "/favicon.ico").body == static.FAVICON_SVG


def test_response_helpers():
    resp = web.response(200, b"abc", "image/png")
    check_common(resp, 200, "image/png", "no-cache")
    resp = web.response(404, b"", "text/plain", "max-age=1", {"X-Extra": "1", "X-Frame-Options": "SAMEORIGIN"})
    assert resp.headers["X-Extra"] == "1" and resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert resp.headers["Content-Length"] == "0" and resp.headers["Cache-Control"] == "max-age=1"
    check_text(web.text_response(400, "héllo\n"), 400, "héllo\n")
    assert web.text_response(400, "héllo\n").headers["Content-Length"] == "7"
