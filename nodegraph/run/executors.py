"""Executors by name (``--executor NAME``): the in-process one built in, the others registered.

An executor outside the engine (Ray in ``nodegraph.ray``, or another distribution's) registers
a factory under the entry-point group ``nodegraph.executors``: ``NAME = "module:factory"``,
called as ``factory(address)``. The engine looks it up only when that name is asked for, so it
never imports the executor's module (nor its dependencies) otherwise. Entry points, not a
module-level table: no global state, and a plugin distribution adds one by being installed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..api.entry_points import installed_entry_points
from ..api.errors import UsageError

if TYPE_CHECKING:  # the executor module (and the engine behind it) is imported only to run
    from .executor import Executor

ENTRY_POINT_GROUP = "nodegraph.executors"
LOCAL = "local"


def _registered() -> dict[str, Any]:
    return {ep.name: ep for ep in installed_entry_points(ENTRY_POINT_GROUP) if ep.name != LOCAL}


def executor_names() -> list[str]:
    """``local`` and the registered executors' names (for ``--executor``'s choices)."""
    return [LOCAL, *sorted(_registered())]


def executor_named(name: str = LOCAL, address: str | None = None) -> Executor:
    """The executor ``--executor NAME [--address ADDR]`` asks for; only that one is imported."""
    registered = _registered()
    if name == LOCAL:
        if address:
            raise UsageError(f"--address needs --executor {' or '.join(sorted(registered)) or 'NAME'}")
        from .executor import InProcessExecutor
        return InProcessExecutor()
    entry = registered.get(name)
    if entry is None:
        raise UsageError(f"unknown executor {name!r} (known: {', '.join(executor_names())})")
    try:
        factory = entry.load()
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if not missing or missing == entry.module.split(".")[0]:  # a broken install of the executor itself
            raise
        extras = (entry.dist.metadata.get_all("Provides-Extra") or []) if entry.dist is not None else []
        hint = f": pip install '{entry.dist.name}[{name}]'" if name in extras else ""
        raise UsageError(f"--executor {name} needs {missing}{hint}") from None
    return factory(address)
