"""Users, settings and userdata (the frontend's saved workflows), kept per user under the
server's data dir; no name leaves the user's folder."""
from __future__ import annotations

import json

import pytest

from comfykit import Http


def test_settings_are_stored_per_user(http, comfy_server):
    key = f"Comfy.Test{http.prefix.replace('/', '_')}"
    assert http.post("/settings", {key: 1, "Comfy.Other": "x"}).status == 200
    assert http.post(f"/settings/{key}", 5).status == 200
    assert http.get(f"/settings/{key}").json() == 5
    assert http.get("/settings").json()["Comfy.Other"] == "x"
    assert http.get("/settings/Never.Set").json() is None
    stored = json.loads((comfy_server.dirs["data"] / "users" / "default" / "comfy.settings.json").read_text())
    assert stored[key] == 5
    # another user (created through the API) has its own settings
    user = http.post("/users", {"username": f"ada{http.prefix.replace('/', '_')}"}).json()
    other = Http(comfy_server.port, http.prefix, headers={"comfy-user": user})
    assert key not in other.get("/settings").json()
    other.post("/settings", {key: "ada's"})
    assert other.get(f"/settings/{key}").json() == "ada's" and http.get(f"/settings/{key}").json() == 5
    assert http.post("/settings", [1, 2]).status == 400
    assert http.get("/users").json() == {"storage": "server", "migrated": True}


def test_userdata_files_round_trip(http):
    name = f"workflows%2Fmy{http.prefix.replace('/', '_')}.json"
    body = json.dumps({"nodes": [], "links": []}).encode()
    saved = http.request("POST", f"/userdata/{name}?overwrite=true&full_info=true", body)
    assert saved.status == 200 and saved.json()["path"].startswith("workflows/") and saved.json()["size"] == len(body)
    assert http.get(f"/userdata/{name}").body == body
    assert http.request("POST", f"/userdata/{name}?overwrite=false", b"{}").status == 409
    listed = http.get("/userdata?dir=workflows&recurse=true&split=false&full_info=true").json()
    assert any(entry["path"] == name.split("%2F")[1] for entry in listed)
    assert name.split("%2F")[1] in http.get("/userdata?dir=workflows").json()
    assert http.get("/userdata?dir=never-made").json() == []
    assert http.get("/userdata").status == 400
    moved = http.request("POST", f"/userdata/{name}/move/{name.replace('my', 'moved')}")
    assert moved.status == 200 and http.get(f"/userdata/{name}").status == 404
    assert http.request("DELETE", f"/userdata/{name.replace('my', 'moved')}").status == 204
    v2 = http.get("/v2/userdata").json()
    assert any(e["type"] == "directory" and e["name"] == "workflows" for e in v2)
    # the frontend's optional stylesheet answers even before the user has one
    css = http.get("/userdata/user.css")
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("name", ["..%2Fescape.json", "%2Fetc%2Fpasswd", "a%2F..%2F..%2Fescape.json",
                                  "a%5Cb.json", "..", "%2E%2E%2F%2E%2E%2Fescape.json"])
def test_userdata_names_cannot_leave_the_users_folder(http, comfy_server, name):
    reply = http.request("POST", f"/userdata/{name}", b"{}")
    assert reply.status in (400, 403, 404), (name, reply)
    assert http.get(f"/userdata/{name}").status in (400, 403, 404)
    assert not (comfy_server.dirs["data"] / "escape.json").exists()
    assert not (comfy_server.dirs["data"] / "users" / "escape.json").exists()
    assert http.get(f"/userdata?dir={name}").status in (400, 403)


def test_userdata_symlink_out_is_refused(http, comfy_server, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("SECRET")
    link = comfy_server.dirs["data"] / "users" / "default" / f"link{http.prefix.replace('/', '_')}.json"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    reply = http.get(f"/userdata/{link.name}")
    assert reply.status == 403 and b"SECRET" not in reply.body
    assert http.request("POST", f"/userdata/{link.name}", b"overwritten").status == 403
    assert outside.read_text() == "SECRET"
