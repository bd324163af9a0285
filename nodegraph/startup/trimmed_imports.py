"""What importing diffusers and transformers redoes in every process, done once or not at all.

- diffusers' scan of every installed distribution and transformers' scan of its own source
  files are served from ``<cache dir>/packages`` (package_scan.py, transformers_scan.py);
- torch._dynamo, which both import for a few decorators, is imported only once something
  compiles (deferred_dynamo.py); not deferred for fast mode, which compiles anyway.

``nodegraph run`` wraps its run in ``trimmed_imports``, ``nodegraph serve`` its lifetime, and a
Ray worker each node it runs (with its own machine's cache folder).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def trimmed_imports(cache_dir: Path, compiling: bool = False) -> Iterator[None]:
    from .deferred_dynamo import dynamo_deferred
    from .package_scan import package_scan_cached
    from .transformers_scan import import_structure_cached
    store = Path(cache_dir) / "packages"
    with package_scan_cached(store), import_structure_cached(store / "transformers"), dynamo_deferred(not compiling):
        yield
