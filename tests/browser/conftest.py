"""Browser tests: one nodegraph server and ONE Chromium for the whole session, a fresh page per test.

Chromium is Debian's (/usr/bin/chromium) driven by Playwright; a missing browser is a failure,
not a skip, so CI notices. Every page fails its test on a console error or an uncaught exception.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# The one NODEGRAPH_CHROMIUM names, else the first on PATH (.ci/chromium.sh picks the same way).
CHROMIUM = (os.environ.get("NODEGRAPH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
            or "/usr/bin/chromium")
LAUNCH_ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(items):
    for item in items:
        if str(item.fspath).startswith(str(HERE)):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def server_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-server")
    dirs = {name: root / name for name in ("data", "output", "input", "models")}
    for d in dirs.values():
        d.mkdir()
    return dirs


@pytest.fixture(scope="session")
def server(server_dirs):
    from nodegraph.server.app import ServerConfig, start_in_thread
    handle = start_in_thread(ServerConfig(
        host="127.0.0.1", port=0, token=None, data_dir=server_dirs["data"],
        output_dir=server_dirs["output"], input_dir=server_dirs["input"],
        models_dir=server_dirs["models"], cache_dir=None, web_dir=None,
        plugin_dirs=(HERE / "plugins",), device="cpu"))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium, or NODEGRAPH_CHROMIUM=/path/to/chrome")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


class PageErrors(list):
    """Console errors and uncaught exceptions seen by a page."""


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1500, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, server):
    pg = context.new_page()
    errors = PageErrors()
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.errors = errors
    pg.set_default_timeout(15000)
    yield pg
    allowed = getattr(pg, "allowed_errors", ())
    bad = [e for e in errors if not any(a in e for a in allowed)]
    assert not bad, "errors in the page:\n" + "\n".join(bad)


@pytest.fixture
def canvas(page, server):
    from browser_helpers import Canvas
    c = Canvas(page, server.url)
    c.open()
    return c
