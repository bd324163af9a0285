"""ComfyUI's official frontend for ``nodegraph serve --ui comfyui``: the static files of the
``comfyui-frontend-package`` wheel (an optional extra, ``pip install 'nodegraph[comfyui]'``)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ..api.errors import UsageError

PACKAGE = "comfyui_frontend_package"
INSTALL_HINT = "--ui comfyui needs ComfyUI's frontend: pip install 'nodegraph[comfyui]' (or comfyui-frontend-package)"


class FrontendMissing(UsageError):
    pass


def frontend_dir() -> Path:
    """The folder holding the frontend's index.html; FrontendMissing (one line) when absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FrontendMissing(INSTALL_HINT)
    for location in spec.submodule_search_locations:
        static = Path(location) / "static"
        if (static / "index.html").is_file():
            return static
    raise FrontendMissing(INSTALL_HINT + f" ({PACKAGE} is installed but has no static/index.html)")


def frontend_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("comfyui-frontend-package")
    except PackageNotFoundError:
        return None
