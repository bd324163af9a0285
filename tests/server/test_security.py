"""Secure by default: Host allowlist, same-origin websockets, tokens, path escapes, size caps."""
from __future__ import annotations

import json
import os

import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from nodegraph.cli.main import main as cli_main
from nodegraph.server.app import ServerConfig, start_in_thread
from nodegraph.server.security import SecurityError
from serverkit import Client, add_show, link, raw_request, workflow


def test_refuses_to_bind_beyond_loopback_without_token(dirs, capsys):
    with pytest.raises(SecurityError):
        start_in_thread(ServerConfig(host="0.0.0.0", port=0, token=None, data_dir=dirs["data"]))
    assert cli_main(["serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(dirs["data"])]) == 2
    assert "without a token" in capsys.readouterr().err


def test_cross_origin_websocket_rejected(server):
    port = server.port
    for origin in ("http://evil.example", "null", f"http://localhost:{port}", f"http://127.0.0.1:{port + 1}",
                   "file://"):
        status, _, _ = raw_request(port, "/ws", {"Origin": origin}, websocket=True)
        assert status == 403, origin
    for origin in (f"http://127.0.0.1:{port}", None):
        status, _, _ = raw_request(port, "/ws", {"Origin": origin} if origin else {}, websocket=True)
        assert status == 101, origin
    # with the real client too
    with pytest.raises(InvalidStatus) as info:
        Client(port, origin="http://evil.example")
    assert info.value.response.status_code == 403
    with Client(port, origin=f"http://127.0.0.1:{port}") as c:
        assert c.request({"type": "hello"})["type"] == "hello"
    # two Origin headers are refused
    status, _, _ = raw_request(port, "/ws", {"Origin": f"http://127.0.0.1:{port}", "origin": "http://evil.example"},
                               websocket=True)
    assert status == 403


def test_host_not_on_allowlist_rejected(make_server):
    server = make_server(allow_hosts=("canvas.lan",))
    port = server.port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.nip.io:{port}", ""):
        assert raw_request(port, "/", host=host)[0] in (400, 403), host
        assert raw_request(port, "/ws", host=host, websocket=True)[0] in (400, 403), host
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"canvas.lan:{port}"):
        assert raw_request(port, "/", host=host)[0] == 200, host
    # a rebinding page: Host and Origin agree, but the name is not ours
    status, _, _ = raw_request(port, "/ws", {"Origin": f"http://evil.example:{port}"}, host=f"evil.example:{port}",
                               websocket=True)
    assert status == 403


@pytest.fixture
def secret_tree(server, dirs, tmp_path):
    (dirs["output"] / "ok.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (dirs["output"] / "sub").mkdir()
    (dirs["output"] / "sub" / "inner.txt").write_text("inner")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    (dirs["output"] / "escape.txt").symlink_to(secret)
    (dirs["output"] / "escdir").symlink_to(tmp_path)
    (dirs["web"] / "leak.txt").symlink_to(secret)
    return secret


@pytest.mark.parametrize("path", [
    "/output/../secret.txt", "/output/%2e%2e/secret.txt", "/output/%2E%2E/secret.txt", "/output/.%2e/secret.txt",
    "/output/..%2fsecret.txt", "/output/%2e%2e%2fsecret.txt", "/output/..%5csecret.txt", "/output/..\\secret.txt",
    "/output//etc/passwd", "/output/%2fetc%2fpasswd", "/output/escape.txt", "/output/escdir/secret.txt",
    "/output/sub/../../secret.txt", "/web/../secret.txt", "/../secret.txt", "/%2e%2e/secret.txt", "/leak.txt",
    "/output/sub", "/output/", "/web/", "/output/x%00.png", "/output/%252e%252e/secret.txt",
    "/output/" + "/".join([".."] * 8) + "/etc/passwd",
])
def test_path_traversal_refused(server, secret_tree, path):
    status, headers, body = raw_request(server.port, path)
    assert status in (400, 403, 404), (path, status)
    assert b"SECRET" not in body and b"root:" not in body


def test_output_files_served_with_our_content_type(server, secret_tree):
    status, headers, body = raw_request(server.port, "/output/ok.png")
    assert status == 200 and headers["content-type"] == "image/png" and body.startswith(b"\x89PNG")
    assert headers["x-content-type-options"] == "nosniff"
    status, headers, body = raw_request(server.port, "/output/sub/inner.txt")
    assert status == 200 and body == b"inner"


SECURITY_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
                    "content-security-policy": "frame-ancestors 'none'", "x-frame-options": "DENY"}


@pytest.mark.parametrize("path", ["/", "/js/main.js", "/output/ok.png", "/output/missing.png", "/output/../x"])
def test_every_http_response_carries_the_security_headers(server, secret_tree, path):
    """No sniffing, no referrer leaks, never framed (clickjacking): on pages, modules, outputs
    and error replies alike."""
    status, headers, _ = raw_request(server.port, path)
    assert status in (200, 400, 403, 404), (path, status)
    for name, value in SECURITY_HEADERS.items():
        assert name in headers and value in headers[name], (path, name, headers.get(name))


def test_workflow_file_inputs_cannot_escape(server, client, dirs, tmp_path):
    (tmp_path / "outside.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (dirs["input"] / "link.png").symlink_to(tmp_path / "outside.png")
    for name in ("../outside.png", str(tmp_path / "outside.png"), "link.png", "~/x.png"):
        wf = workflow({"l": {"type": "LoadImage", "inputs": {"image": name}},
                       "s": {"type": "SaveImage", "inputs": {"images": link("l", "image")}}})
        reply = client.queue(wf)
        assert reply["code"] == "invalid_workflow", name
        assert any(p.get("input") == "image" for p in reply["problems"]), reply


def test_token_required_when_set(make_server, dirs):
    token = "t0k-" + os.urandom(6).hex()
    server = make_server(token=token)
    port = server.port
    with pytest.raises(InvalidStatus) as info:
        Client(port)
    assert info.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        Client(port, token="wrong")
    with Client(port, token=token) as c:
        hello = c.request({"type": "hello"})
        assert hello["token_required"] is True
        queued = c.queue(add_show(1, 2))
        assert c.events(queued["job"])[-1]["status"] == "success"
    with Client(port, additional_headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.request({"type": "ping"})["type"] == "pong"
    # output files need it too; the page itself does not (it holds no secret)
    (dirs["output"] / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert raw_request(port, "/output/x.png")[0] == 401
    assert raw_request(port, f"/output/x.png?token={token}")[0] == 200
    assert raw_request(port, "/")[0] == 200


def test_oversized_messages(make_server):
    server = make_server(max_message=64 << 10, max_text=16 << 10)
    with Client(server.port) as c:
        # a text message over max_text but under max_message: error reply, connection survives
        c.send(json.dumps({"type": "hello", "id": "big", "pad": "x" * (20 << 10)}))
        reply = c.recv()
        assert reply["code"] == "too_large"
        assert c.request({"type": "hello"})["type"] == "hello"
        # a frame over max_message: the server closes with 1009 (message too big)
        c.send(b"\x00" * (100 << 10))
        with pytest.raises(ConnectionClosedError) as info:
            c.recv()
        assert info.value.rcvd.code == 1009
    with Client(server.port) as c:  # the server is fine
        assert c.request({"type": "hello"})["type"] == "hello"


def test_get_only(server, secret_tree):
    for method in ("POST", "PUT", "DELETE", "HEAD", "OPTIONS"):
        for path in ("/", "/output/ok.png", "/ws"):
            status, headers, body = raw_request(server.port, path, method=method)
            assert status == 405 and headers.get("allow") == "GET", (method, path, status)
            assert b"<html" not in body.lower() and not body.startswith(b"\x89PNG")


def test_port_in_use_and_busy_data_dir_are_clean_errors(server, dirs, tmp_path):
    from nodegraph.server.app import DataDirBusy
    with pytest.raises(OSError):
        start_in_thread(ServerConfig(port=server.port, data_dir=tmp_path / "other", output_dir=dirs["output"],
                                     input_dir=dirs["input"], models_dir=dirs["models"]))
    with pytest.raises(DataDirBusy):  # two servers on one queue would steal each other's jobs
        start_in_thread(ServerConfig(port=0, data_dir=dirs["data"], output_dir=dirs["output"],
                                     input_dir=dirs["input"], models_dir=dirs["models"]))
    with Client(server.port) as c:  # the first server is untouched
        assert c.request({"type": "hello"})["type"] == "hello"
