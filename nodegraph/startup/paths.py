"""Where nodegraph keeps its files by default (shared by the CLI, the server and embedders)."""
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


def keep_compiled_in(folder: Path) -> None:
    """torch.compile's disk cache (inductor's compiled graphs and generated kernels) in ``folder``
    instead of ``/tmp/torchinductor_<user>``, which a reboot or a fresh container empties: the
    first fast-mode process compiles, later ones (after restarts too) mostly load. Torch reads
    the variable when it first compiles; a value the user set wins."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
