"""URL path rules and file containment: each refusal form gives the status a browser would see."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nodegraph.server import static
from nodegraph.server.static import Refused


@pytest.mark.parametrize("raw, status, reason", [
    ("a%2fb", 400, "bad path"), ("a%2Fb", 400, "bad path"), ("a%5cb", 400, "bad path"),
    ("a%5Cb", 400, "bad path"), ("a%00b", 400, "bad path"), ("a\\b", 400, "bad path"),
    ("%2e%2e/secret", 400, "bad path"), ("a/%2E%2E/b", 400, "bad path"), ("../etc/passwd", 400, "bad path"),
    ("a/../b", 400, "bad path"), ("./a", 400, "bad path"), ("a/.", 400, "bad path"),
    ("/etc/passwd", 400, "bad path"), ("C:/Windows/win.ini", 400, "bad path"), ("c:boot.ini", 400, "bad path"),
    ("%ff", 400, "bad path"),  # not UTF-8 once decoded: a clean 400, not a server error
    ("a\x00b", 400, "bad path"),  # a raw NUL would make the file lookup raise (a server error)
    ("a//b", 404, "bad path"), ("", 404, "bad path"), ("a/", 404, "bad path"),
    (".git/config", 404, "not found"), ("img/.env", 404, "not found"), ("%2Essh/id", 404, "not found"),
])
def test_safe_name_refuses_each_form(raw, status, reason):
    with pytest.raises(Refused) as info:
        static.safe_name(raw)
    assert (info.value.status, info.value.reason) == (status, reason)
    assert str(info.value) == f"{status} {reason}"


@pytest.mark.parametrize("raw, name", [
    ("img/a.png", "img/a.png"), ("a%20b.txt", "a b.txt"), ("%252e%252e", "%2e%2e"),  # decoded once only
    ("caf%C3%A9.png", "café.png"), ("a.b/c..d", "a.b/c..d"), ("ab:c.txt", "ab:c.txt"),
])
def test_safe_name_accepts_ordinary_names(raw, name):
    assert static.safe_name(raw) == name


@pytest.mark.parametrize("path, expected", [
    ("/", ("web", "index.html")), ("/index.html", ("web", "index.html")), ("/?x=1", ("web", "index.html")),
    ("/ws", ("ws", "")), ("/ws?token=t", ("ws", "")),
    ("/favicon.ico", ("favicon", "favicon.ico")), ("/favicon.svg", ("favicon", "favicon.svg")),
    ("/output/run/a.png", ("output", "run/a.png")), ("/web/app.js", ("web", "app.js")),
    ("/app.js?v=2", ("web", "app.js")), ("/lib/x.mjs#frag", ("web", "lib/x.mjs")),
    ("/output/a%20b.png", ("output", "a b.png")),
])
def test_route(path, expected):
    assert static.route(path) == expected


@pytest.mark.parametrize("path, status, reason", [
    ("relative.js", 400, "bad path"), ("http://[::1/x", 400, "bad path"), ("/output/../x", 400, "bad path"),
    ("/web/%2e%2e/x", 400, "bad path"), ("/output/", 404, "bad path"), ("/web/", 404, "bad path"),
    ("/output/.hidden", 404, "not found"), ("/a//b", 404, "bad path"),
])
def test_route_refuses(path, status, reason):
    with pytest.raises(Refused) as info:
        static.route(path)
    assert (info.value.status, info.value.reason) == (status, reason)  # the reason is the response body


def test_resolve_inside(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("a")
    (tmp_path / "secret.txt").write_text("s")
    os.symlink(tmp_path / "secret.txt", root / "out.txt")
    os.symlink(root / "sub" / "a.txt", root / "in.txt")
    assert static.resolve_inside(root, "sub/a.txt") == (root / "sub" / "a.txt").resolve()
    assert static.resolve_inside(root, "in.txt") == (root / "sub" / "a.txt").resolve()
    cases = {"out.txt": (403, "outside the served folder"), "missing.txt": (404, "not found"),
             "sub": (404, "not found"), "sub/a.txt/x": (404, "not found")}
    for name, expected in cases.items():
        with pytest.raises(Refused) as info:
            static.resolve_inside(root, name)
        assert (info.value.status, info.value.reason) == expected, name
    with pytest.raises(Refused) as info:
        static.resolve_inside(tmp_path / "nope", "a.txt")
    assert info.value.status == 404


def test_root_itself_is_not_a_file(tmp_path):
    with pytest.raises(Refused) as info:
        static.resolve_inside(tmp_path, ".")
    assert info.value.status == 403


@pytest.mark.parametrize("name, area, expected", [
    ("index.html", "web", "no-cache"), ("app.JS", "web", "no-cache"), ("x.mjs", "web", "no-cache"),
    ("s.css", "web", "no-cache"), ("w.json", "web", "no-cache"), ("x.map", "web", "no-cache"),
    ("page.HTM", "web", "no-cache"), ("logo.png", "web", "max-age=300"), ("font.woff2", "web", "max-age=300"),
    ("a.png", "output", "no-cache"), ("a.json", "output", "no-cache"), ("x.html", "favicon", "max-age=300"),
])
def test_cache_control(name, area, expected):
    assert static.cache_control(name, area) == expected


def test_content_type_is_case_insensitive_with_octet_fallback():
    assert static.content_type("A.PNG") == "image/png"
    assert static.content_type("dir/clip.webm") == "video/webm"
    assert static.content_type("model.bin") == static.OCTET == "application/octet-stream"
    assert static.content_type("noext") == "application/octet-stream"


def test_default_web_dir_is_the_checkout_canvas():
    web = static.default_web_dir()
    assert web == Path(static.__file__).resolve().parents[2] / "web"
    assert (web / "index.html").is_file()


def test_default_web_dir_prefers_the_packaged_canvas(tmp_path, monkeypatch):
    (tmp_path / "web").mkdir()
    monkeypatch.setattr(static.importlib.resources, "files",
                        lambda package: tmp_path if package == "nodegraph" else None)
    assert static.default_web_dir() == Path(static.__file__).resolve().parents[2] / "web"  # no index.html yet
    (tmp_path / "web" / "index.html").write_text("<html>")
    assert static.default_web_dir() == tmp_path / "web"
