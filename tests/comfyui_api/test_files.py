"""/upload/image, /upload/mask and /view: ComfyUI's naming, and no path trick ever reaches a
file outside its folder (4xx, never 500)."""
from __future__ import annotations

import io
import json
import os

import pytest

from comfykit import ComfyWs, Http, load_save, png, wait_until


def upload(http, data, name="cat.png", **fields):
    return http.upload("/upload/image", {k: str(v) for k, v in fields.items()}, {"image": (name, data, "image/png")})


def test_upload_names_like_comfyui(http, comfy_server):
    stem = f"cat{http.prefix.replace('/', '_')}"
    first = upload(http, png((1, 2, 3)), f"{stem}.png")
    assert first.status == 200 and first.json() == {"name": f"{stem}.png", "subfolder": "", "type": "input"}
    assert (comfy_server.dirs["input"] / f"{stem}.png").read_bytes() == png((1, 2, 3))
    # the same bytes again: the same file; other bytes: "name (1).png"
    assert upload(http, png((1, 2, 3)), f"{stem}.png").json()["name"] == f"{stem}.png"
    assert upload(http, png((9, 9, 9)), f"{stem}.png").json()["name"] == f"{stem} (1).png"
    assert upload(http, png((8, 8, 8)), f"{stem}.png").json()["name"] == f"{stem} (2).png"
    # overwrite replaces; a subfolder is kept and reported
    assert upload(http, png((7, 7, 7)), f"{stem}.png", overwrite="true").json()["name"] == f"{stem}.png"
    assert (comfy_server.dirs["input"] / f"{stem}.png").read_bytes() == png((7, 7, 7))
    sub = upload(http, png((4, 4, 4)), f"{stem}.png", subfolder="pasted/today").json()
    assert sub == {"name": f"{stem}.png", "subfolder": "pasted/today", "type": "input"}
    assert (comfy_server.dirs["input"] / "pasted" / "today" / f"{stem}.png").is_file()
    temp = upload(http, png((5, 5, 5)), f"{stem}.png", type="temp").json()
    assert temp["type"] == "temp"
    assert http.get(f"/view?filename={stem}.png&type=temp").body == png((5, 5, 5))


@pytest.mark.parametrize("name,fields,status", [
    ("../escape.png", {}, 400), ("..", {}, 400), ("/etc/passwd.png", {}, 400), ("a\\\\b.png", {}, 400),
    (".hidden.png", {}, 400), ("x.png", {"subfolder": "../.."}, 400), ("x.png", {"subfolder": "/tmp"}, 400),
    ("x.png", {"subfolder": "a/../../b"}, 400), ("x.png", {"subfolder": "C:/x"}, 400),
    ("x.png", {"type": "models"}, 400), ("x.exe", {}, 400), ("x.png\x00.txt", {}, 400),
])
def test_hostile_uploads_are_refused(http, comfy_server, name, fields, status):
    before = {p for p in comfy_server.root.rglob("*")}
    reply = upload(http, png(), name, **fields)
    assert reply.status == status, reply
    created = {p for p in comfy_server.root.rglob("*")} - before
    assert not [p for p in created if not str(p).startswith(str(comfy_server.dirs["input"]))]
    assert not (comfy_server.root / "escape.png").exists()


def test_upload_through_a_symlinked_subfolder_is_refused(http, comfy_server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    link = comfy_server.dirs["input"] / f"link{http.prefix.replace('/', '_')}"
    link.symlink_to(outside)
    assert upload(http, png(), "x.png", subfolder=link.name).status == 403
    assert list(outside.iterdir()) == []


def test_wrong_uploads_are_4xx(http):
    assert http.post("/upload/image", {"image": "x"}).status == 400  # not multipart
    no_file = http.upload("/upload/image", {"image": "just text"}, {})
    assert no_file.status == 400
    assert upload(http, b"GIF89a not a png", "fake.png").status == 400  # bytes that are no PNG
    assert upload(http, b"", "empty.png").status == 400
    garbled = http.request("POST", "/upload/image", b"--x\r\nnonsense", {"Content-Type": "multipart/form-data; boundary=x"})
    assert 400 <= garbled.status < 500


def test_oversize_upload_is_413(comfy_server):
    http = Http(comfy_server.port)
    reply = upload(http, b"\x89PNG\r\n\x1a\n" + os.urandom(33 << 20), "big.png")
    assert reply.status == 413
    assert not (comfy_server.dirs["input"] / "big.png").exists()


@pytest.mark.parametrize("query,status", [
    ("filename=../secret.txt", 400), ("filename=/etc/passwd", 400), ("filename=x&subfolder=../..", 400),
    ("filename=passwd&subfolder=/etc", 400), ("filename=secret.txt&subfolder=..", 400),
    ("filename=ok.png&type=bogus", 400), ("filename=missing.png", 404), ("subfolder=x", 404),
    ("filename=escape.txt&type=output", 403), ("filename=secret.txt&subfolder=escdir", 403),
    ("filename=a%00b.png", 400), ("filename=..%2Fsecret.txt", 400),
])
def test_view_path_rules(http, comfy_server, query, status):
    out = comfy_server.dirs["output"]
    secret = comfy_server.root / "secret.txt"
    secret.write_text("TOP SECRET")
    if not (out / "escape.txt").is_symlink():
        (out / "escape.txt").symlink_to(secret)
        (out / "escdir").symlink_to(comfy_server.root)
    reply = http.get(f"/view?{query}")
    assert reply.status == status, (query, reply)
    assert b"SECRET" not in reply.body and b"root:" not in reply.body


def test_view_of_each_folder_and_annotated_names(http, comfy_server):
    (comfy_server.dirs["output"] / "sub").mkdir(exist_ok=True)
    (comfy_server.dirs["output"] / "sub" / "o.png").write_bytes(png((1, 1, 1)))
    (comfy_server.dirs["input"] / "i.png").write_bytes(png((2, 2, 2)))
    assert http.get("/view?filename=o.png&subfolder=sub&type=output").body == png((1, 1, 1))
    assert http.get("/view?filename=o.png&subfolder=sub").body == png((1, 1, 1))  # output by default
    assert http.get("/view?filename=i.png&type=input").body == png((2, 2, 2))
    assert http.get("/view?filename=i.png%20%5Binput%5D").body == png((2, 2, 2))  # "i.png [input]"
    html = comfy_server.dirs["output"] / "page.html"
    html.write_text("<script>alert(1)</script>")
    served = http.get("/view?filename=page.html")
    assert served.status == 200 and served.headers["content-type"] == "application/octet-stream"
    preview = http.get("/view?filename=i.png&type=input&preview=webp;50")
    assert preview.status == 200 and preview.headers["content-type"] == "image/webp" and preview.body[8:12] == b"WEBP"
    rgb = http.get("/view?filename=i.png&type=input&channel=rgb")
    assert rgb.headers["content-type"] == "image/png"


def test_an_uploaded_image_reaches_loadimage(comfy_server):
    http = Http(comfy_server.port)
    outputs = []
    for color in ((250, 0, 0), (0, 0, 250)):
        name = upload(http, png(color, (12, 10)), "upload-for-load.png").json()["name"]
        with ComfyWs(comfy_server.port) as ws:
            pid = http.prompt(load_save(name, prefix="roundtrip"), client_id=ws.client_id).json()["prompt_id"]
            seen = ws.until_done(pid)
        (out,) = [m["data"]["output"]["images"][0] for m in seen if m["type"] == "executed"]
        from PIL import Image
        picture = Image.open(io.BytesIO(http.get(f"/view?filename={out['filename']}&type=output").body))
        assert picture.size == (12, 10) and picture.convert("RGB").getpixel((3, 3)) == color
        outputs.append(out["filename"])
    assert outputs[0] != outputs[1]


def test_upload_mask_puts_the_alpha_onto_the_original(http, comfy_server):
    from PIL import Image
    original = upload(http, png((10, 200, 30), (6, 4)), "masked.png", overwrite="true").json()
    mask = Image.new("RGBA", (6, 4), (0, 0, 0, 255))
    mask.putpixel((1, 1), (0, 0, 0, 0))
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    reply = http.upload("/upload/mask", {"original_ref": json.dumps({"filename": original["name"], "type": "input"}),
                                         "type": "input", "subfolder": "clipspace"},
                        {"image": ("clipspace-mask.png", buf.getvalue(), "image/png")})
    assert reply.status == 200, reply
    saved = Image.open(comfy_server.dirs["input"] / "clipspace" / reply.json()["name"])
    assert saved.mode == "RGBA" and saved.getpixel((1, 1))[3] == 0 and saved.getpixel((2, 2)) == (10, 200, 30, 255)
    bad = http.upload("/upload/mask", {"original_ref": json.dumps({"filename": "../x.png"})},
                      {"image": ("m.png", buf.getvalue(), "image/png")})
    assert bad.status == 400
    assert http.upload("/upload/mask", {"original_ref": "{oops"}, {"image": ("m.png", buf.getvalue(), "image/png")}
                       ).status == 400
