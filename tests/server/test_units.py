"""The pure parts: security rules, URL path rules, frame parsing, the job state machine."""
from __future__ import annotations

import pytest

from nodegraph.server import jobs, protocol, security, static
from nodegraph.server.protocol import ProtocolError
from nodegraph.server.static import Refused


def test_bind_policy():
    security.check_bind("127.0.0.1", None)
    security.check_bind("localhost", None)
    security.check_bind("::1", None)
    security.check_bind("127.0.0.2", None)
    for host in ("0.0.0.0", "", "::", "192.168.1.5", "example.com"):
        with pytest.raises(security.SecurityError):
            security.check_bind(host, None)
        security.check_bind(host, "s3cret")


def test_host_allowlist():
    allowed = security.allowed_hosts("0.0.0.0", ["nas.local", "10.0.0.7:8188"])
    assert allowed == {"localhost", "127.0.0.1", "::1", "nas.local", "10.0.0.7"}
    for host in ("localhost:8188", "127.0.0.1", "[::1]:8188", "NAS.local:80", "10.0.0.7:1"):
        assert security.host_allowed(host, allowed), host
    for host in ("evil.com:8188", "", None, "127.0.0.1.evil.com", "::1", "localhost:99999",
                 "localhost:x", "user@localhost", "localhost/x", "[::1"):
        assert not security.host_allowed(host, allowed), host
    assert "192.168.1.5" in security.allowed_hosts("192.168.1.5")


def test_origin_must_match_host():
    ok = security.origin_allowed
    assert ok(None, "localhost:8188")  # non-browser client
    assert ok("http://localhost:8188", "localhost:8188")
    assert ok("http://LOCALHOST:8188", "localhost:8188")
    assert ok("http://127.0.0.1", "127.0.0.1:80")
    assert ok("https://[::1]:8188", "[::1]:8188")
    for origin in ("null", "", "http://evil.com:8188", "http://localhost:8189", "http://127.0.0.1:8188",
                   "file://", "chrome-extension://abc", "http://localhost:8188/path", "ws://localhost:8188",
                   "http://user@localhost:8188"):
        assert not ok(origin, "localhost:8188"), origin


def test_token():
    assert security.request_token("/ws?token=abc", None) == "abc"
    assert security.request_token("/ws", "Bearer xyz") == "xyz"
    assert security.request_token("/ws", "Basic xyz") is None
    assert security.request_token("/ws?a=1&token=a%2Bb", None) == "a+b"
    assert security.token_ok(None, None)
    assert security.token_ok("t", "t")
    assert not security.token_ok("t", None)
    assert not security.token_ok("t", "T")
    assert not security.token_ok("t", "")


@pytest.mark.parametrize("path,expected", [
    ("/", ("web", "index.html")), ("/index.html", ("web", "index.html")), ("/ws?token=x", ("ws", "")),
    ("/web/app.js", ("web", "app.js")), ("/app.js", ("web", "app.js")), ("/favicon.ico", ("favicon", "favicon.ico")),
    ("/output/a%20b.png", ("output", "a b.png")), ("/output/sub/x.png?token=t", ("output", "sub/x.png")),
    ("/output/%252e%252e/x", ("output", "%2e%2e/x")),  # decoded once: a literal, harmless name
])
def test_route(path, expected):
    assert static.route(path) == expected


@pytest.mark.parametrize("path", [
    "/output/../secret", "/output/%2e%2e/secret", "/output/%2E%2E/secret", "/output/.%2e/secret",
    "/output/..%2fsecret", "/output/%2fetc/passwd", "/output/..%5csecret", "/output/a\\b", "/output//etc/passwd",
    "/output/x%00.png", "/web/../nodegraph/cli.py", "/../etc/passwd", "/output/.hidden", "/output/a/./b",
    "/output/C:/x", "output/x", "/%2e%2e/x",
])
def test_route_refuses(path):
    with pytest.raises(Refused):
        static.route(path)


def test_resolve_inside(tmp_path):
    root = tmp_path / "out"
    (root / "sub").mkdir(parents=True)
    (root / "a.png").write_bytes(b"x")
    secret = tmp_path / "secret.txt"
    secret.write_text("no")
    (root / "link.txt").symlink_to(secret)
    (root / "dirlink").symlink_to(tmp_path)
    (root / "inner.png").symlink_to(root / "a.png")
    assert static.resolve_inside(root, "a.png") == (root / "a.png").resolve()
    assert static.resolve_inside(root, "inner.png").name == "a.png"  # symlink inside stays allowed
    for name, status in (("link.txt", 403), ("dirlink/secret.txt", 403), ("sub", 404), ("nope", 404)):
        with pytest.raises(Refused) as info:
            static.resolve_inside(root, name)
        assert info.value.status == status, name


def test_content_types_are_ours():
    assert static.content_type("a.js") == "text/javascript; charset=utf-8"
    assert static.content_type("a.MJS") == "text/javascript; charset=utf-8"
    assert static.content_type("index.html").startswith("text/html")
    assert static.content_type("x.png") == "image/png"
    assert static.content_type("x.unknown") == "application/octet-stream"
    assert static.cache_control("app.js", "web") == "no-cache"


def test_parse_frames():
    assert protocol.parse('{"type":"hello","id":3}') == {"type": "hello", "id": 3}
    cases = {'{"type":': "bad_json", "[1]": "bad_message", '{"id":1}': "bad_message",
             '{"type":"nope"}': "unknown_type", '{"type":"queue"}': "bad_message",
             '{"type":"queue","workflow":[]}': "bad_message", '{"type":"cancel","job":3}': "bad_message",
             '{"type":"history","limit":0}': "bad_message", '{"type":"history","limit":true}': "bad_message",
             '{"type":"files","kind":"../../etc"}': "bad_kind", '{"type":"hello","id":{"a":1}}': "bad_message",
             "[" * 100000: "bad_json"}
    for text, code in cases.items():
        with pytest.raises(ProtocolError) as info:
            protocol.parse(text)
        assert info.value.code == code, text
    with pytest.raises(ProtocolError) as info:
        protocol.parse('{"type":"cancel","id":"x"}')
    assert info.value.to_message() == {"type": "error", "code": "bad_message", "message": "'cancel' needs 'job'",
                                       "id": "x"}


def test_upload_names():
    assert protocol.upload_name("cat.png") == "cat.png"
    assert protocol.upload_name("../../etc/evil.PNG") == "evil.png"
    assert protocol.upload_name("C:\\Users\\x\\my photo (1).jpg") == "my_photo_1.jpg"
    assert protocol.upload_name(".hidden.png") == "hidden.png"
    assert protocol.upload_name("....png") == "upload.png"
    for bad in ("x.exe", "noext", "x.png", "x.svg"):
        with pytest.raises(ProtocolError):
            protocol.upload_name(bad, "image" if bad != "x.png" else "lora")
    protocol.check_upload_bytes("a.png", b"\x89PNG\r\n\x1a\nrest")
    with pytest.raises(ProtocolError):
        protocol.check_upload_bytes("a.png", b"GIF89a")
    with pytest.raises(ProtocolError):
        protocol.check_upload_bytes("a.png", b"")


def test_event_and_preview_messages(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    event = {"event": "executed", "node": "save", "job": "j1", "outputs": [str(out / "a b.png"), "/etc/passwd"]}
    msg = protocol.event_message(event, out, token="t")
    assert msg["type"] == "event" and msg["urls"] == ["/output/a%20b.png?token=t"]
    previews = protocol.preview_messages(event, out)
    assert previews == [{"type": "preview", "job": "j1", "node": "save", "url": "/output/a%20b.png", "name": "a b.png"}]
    assert protocol.preview_messages({**event, "event": "done"}, out) == []


def test_job_state_machine(tmp_path):
    jobs.check_transition("pending", "running")
    for old, new in (("success", "running"), ("pending", "success"), ("cancelled", "pending"), ("failed", "pending")):
        with pytest.raises(jobs.TransitionError):
            jobs.check_transition(old, new)
    store = jobs.JobStore(tmp_path / "q.sqlite3")
    a, b, c = (store.add({"n": i}) for i in range(3))
    assert store.pending_ids() == [a.id, b.id, c.id]
    assert store.cancel(b.id) and not store.cancel(b.id)
    first = store.claim_next()
    assert first.id == a.id and first.status == "running" and first.attempts == 1
    assert not store.cancel(a.id)  # running: interrupt, not cancel
    # the server dies here; on restart the running job is re-queued at its place, before c
    store.close()
    store = jobs.JobStore(tmp_path / "q.sqlite3")
    assert store.recover() == ([a.id], [])
    assert store.pending_ids() == [a.id, c.id]
    for attempt in (2, 3):
        assert store.claim_next().attempts == attempt
        store.recover()
    assert store.get(a.id).status == "failed"  # started MAX_ATTEMPTS times: given up
    assert store.get(a.id).result["error"]["code"] == "server_stopped"
    assert store.claim_next().id == c.id
    assert store.finish(c.id, "success", {"outputs": ["x.png"]})
    assert [r.status for r in store.history()] == ["success", "cancelled", "failed"]
    assert store.history(limit=1, before=c.seq)[0].id == b.id
