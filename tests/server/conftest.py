"""Fixtures for the server tests: a real server on port 0 in a thread, real websocket clients."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodegraph.server.app import ServerConfig, start_in_thread
from serverkit import PLUGINS, Client


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    d = {name: tmp_path / name for name in ("data", "output", "input", "models", "web")}
    for p in d.values():
        p.mkdir()
    (d["web"] / "index.html").write_text("<!doctype html><title>nodegraph</title><script type=module src=app.js></script>")
    (d["web"] / "app.js").write_text("console.log('canvas');\n")
    return d


@pytest.fixture
def make_server(dirs):
    handles = []

    def make(**overrides: Any):
        config = ServerConfig(host="127.0.0.1", port=0, data_dir=dirs["data"], output_dir=dirs["output"],
                              input_dir=dirs["input"], models_dir=dirs["models"], web_dir=dirs["web"],
                              plugin_dirs=(PLUGINS,), device="cpu")
        for k, v in overrides.items():
            setattr(config, k, v)
        handle = start_in_thread(config)
        handles.append(handle)
        return handle

    yield make
    for h in handles:
        h.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def client(server):
    with Client(server.port) as c:
        yield c
