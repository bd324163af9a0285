"""Where nodegraph keeps its files by default (shared by the CLI, the server and embedders)."""
from __future__ import annotations

import os
from pathlib import Path

from ..files.cache_home import default_cache_dir  # noqa: F401  (here for the CLI, the server and embedders)


def keep_compiled_in(folder: Path) -> None:
    """torch.compile's disk cache (inductor's compiled graphs and generated kernels) in ``folder``
    instead of ``/tmp/torchinductor_<user>``, which a reboot or a fresh container empties: the
    first fast-mode process compiles, later ones (after restarts too) mostly load. Torch reads
    the variable when it first compiles; a value the user set wins."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
