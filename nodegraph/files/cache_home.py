"""Where nodegraph keeps its caches by default (the CLI, the server, embedders, stored scans)."""
from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$NODEGRAPH_CACHE_DIR``, else ``$XDG_CACHE_HOME/nodegraph``, else ``~/.cache/nodegraph``."""
    env = os.environ.get("NODEGRAPH_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nodegraph"
