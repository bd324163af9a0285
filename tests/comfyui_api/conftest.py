"""ComfyUI API tests: one real `nodegraph serve` process for the directory (port 0, its own
folders); tests that restart or configure a server start their own."""
from __future__ import annotations

import pytest

from comfykit import Http, ServerProcess


@pytest.fixture(scope="session")
def comfy_server(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("comfy-server")).start()
    yield server
    server.stop()


@pytest.fixture(params=["", "/api"], ids=["root", "api"])
def http(request, comfy_server) -> Http:
    """The same checks under both prefixes, as ComfyUI serves its routes."""
    return Http(comfy_server.port, request.param)
