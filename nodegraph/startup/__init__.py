"""Start-up: what makes a process start faster (bytecode and compile caches, trimmed torch /
transformers / diffusers imports) and the up-front ``--device`` check, behind ``started()``.
Beside the engine: may import api and files; the engine (graph, run) never imports it."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def started(cache_dir: Path, *, fast: bool = False) -> Iterator[None]:
    """The start-up of a ``nodegraph run`` or ``serve`` process, for the block's lifetime.

    In the order it must happen: Python's bytecode and torch.compile's kernels kept under
    ``cache_dir`` (before torch or diffusers is first imported: a read-only install then
    compiles once, not per process), then diffusers' and transformers' import-time scans served
    from ``cache_dir / "packages"`` and ``torch._dynamo`` deferred until something compiles
    (not deferred with ``fast``, which compiles anyway). Nothing here imports torch.
    """
    from .bytecode import keep_bytecode_in
    from .paths import keep_compiled_in
    from .trimmed_imports import trimmed_imports

    cache_dir = Path(cache_dir)
    keep_bytecode_in(cache_dir / "pycache")
    keep_compiled_in(cache_dir / "torch-compile")
    with trimmed_imports(cache_dir, fast):
        yield
