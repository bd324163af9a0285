"""One security layer for ComfyUI's routes too: token (query, Bearer, Basic, cookie), Origin,
Host; ComfyUI clients send no token, so each way of giving it one is checked."""
from __future__ import annotations

import base64

import pytest
from websockets.exceptions import InvalidStatus

from comfykit import ComfyWs, Http, ServerProcess, add_show

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("comfy-token"), token=TOKEN).start()
    yield server
    server.stop()


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_every_comfyui_route_needs_the_token(guarded, prefix):
    anonymous = Http(guarded.port, prefix)
    for method, path in (("GET", "/object_info"), ("GET", "/queue"), ("GET", "/history"), ("GET", "/view?filename=x"),
                         ("GET", "/system_stats"), ("GET", "/settings"), ("GET", "/userdata?dir=workflows"),
                         ("POST", "/prompt"), ("POST", "/interrupt"), ("POST", "/upload/image")):
        reply = anonymous.request(method, path, b"{}" if method == "POST" else None)
        assert reply.status == 401, (method, path, reply)
    with pytest.raises(InvalidStatus):
        ComfyWs(guarded.port)


def test_each_way_to_present_the_token(guarded):
    basic = base64.b64encode(f"comfy:{TOKEN}".encode()).decode()
    for http in (Http(guarded.port, headers={"Authorization": f"Bearer {TOKEN}"}),
                 Http(guarded.port, headers={"Authorization": f"Basic {basic}"}),
                 Http(guarded.port, headers={"Cookie": f"nodegraph_token={TOKEN}"})):
        assert http.get("/prompt").status == 200
    with_query = Http(guarded.port)
    assert with_query.get(f"/prompt?token={TOKEN}").status == 200
    wrong = Http(guarded.port, headers={"Authorization": "Bearer nope"})
    assert wrong.get("/prompt").status == 401
    # a ComfyUI websocket client with the token in its URL or a header
    with ComfyWs(guarded.port, query=f"&token={TOKEN}") as ws:
        assert ws.recv()["type"] == "status"
    with ComfyWs(guarded.port, headers={"Authorization": f"Basic {basic}"}) as ws:
        http = Http(guarded.port, headers={"Authorization": f"Bearer {TOKEN}"})
        pid = http.prompt(add_show(1, 2), client_id=ws.client_id).json()["prompt_id"]
        ws.until_done(pid)


def test_the_page_turns_a_token_into_a_cookie(guarded):
    reply = Http(guarded.port).get(f"/?token={TOKEN}")  # urllib follows the redirect without the cookie
    assert reply.status == 200
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=10)
    conn.request("GET", f"/?token={TOKEN}")
    resp = conn.getresponse()
    assert resp.status == 303 and resp.getheader("Location") == "/"
    assert f"nodegraph_token={TOKEN}" in resp.getheader("Set-Cookie") and "HttpOnly" in resp.getheader("Set-Cookie")


def test_foreign_origins_and_hosts_are_refused(comfy_server):
    http = Http(comfy_server.port)
    evil = http.request("POST", "/prompt", b'{"prompt": {}}', {"Origin": "http://evil.example",
                                                              "Content-Type": "text/plain"})
    assert evil.status == 403
    same = http.request("POST", "/api/prompt", b"{}", {"Origin": f"http://127.0.0.1:{comfy_server.port}"},
                        raw_path=True)
    assert same.status == 400  # through the layer; refused for its body (no prompt)
    rebound = http.request("GET", "/object_info", headers={"Host": f"evil.example:{comfy_server.port}"})
    assert rebound.status == 403
    with pytest.raises(InvalidStatus):
        ComfyWs(comfy_server.port, headers={"Origin": "http://evil.example"})


def test_frontend_settings_cannot_be_written_cross_site(comfy_server):
    http = Http(comfy_server.port)
    reply = http.request("POST", "/settings", b'{"Comfy.Evil": 1}', {"Origin": "http://evil.example"})
    assert reply.status == 403
    assert "Comfy.Evil" not in http.get("/settings").json()
