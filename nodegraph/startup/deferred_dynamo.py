"""Import ``torch._dynamo`` only once something compiles.

``import diffusers`` imports ``torch._dynamo`` (torch.compile's front end) for one decorator, and
diffusers' and transformers' modules call three of its functions while they import: 0.4-0.5 s
of a 3-4.5 s cold run of the demo main job on this project's 2-core CPU machine, for a module a
run without ``--compile`` never uses. torch has no switch for it (inside torch, ``torch._disable_dynamo`` defers the import for
the same reason), so this is written by hand.

Inside ``dynamo_deferred()``, the first ``import torch._dynamo`` gives a stand-in module that
answers what those imports call without importing the compiler:

- ``allow_in_graph`` and ``assume_constant_result`` return their argument, as the real ones do,
  and are applied for real when torch._dynamo is imported (both mark the function object);
- ``disable`` returns a wrapper that calls the function as it is while nothing can compile, and
  through the real ``disable`` once torch._dynamo is in;
- ``eval_frame.OptimizedModule``, which ``is_compiled_module`` checks, matches nothing while no
  module can have been compiled, and what the real class matches afterwards.

Anything else (``torch.compile``, a config, a submodule other than the one listed in ``LEAVES``)
imports the real torch._dynamo there and then, and it replaces the stand-in: deferring can move
the import later, never change an answer.
``NODEGRAPH_DEFER_DYNAMO=0`` turns it off; the CLI does not defer for ``--compile``.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
import types
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Iterator

NAME = "torch._dynamo"
# Submodules that may run before (without) the package: transformers' masking_utils imports this
# one for a class of its own. Only while every module it imports is already imported and none is
# under torch._dynamo (``_standalone``), so running it cannot import the compiler either.
LEAVES = {NAME + "._trace_wrapped_higher_order_op"}


class _Deferral(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and makes the stand-in; the one place that imports the real module in its stead."""

    def __init__(self) -> None:
        self.stand_in: _StandIn | None = None
        self.released = False  # the real torch._dynamo is imported (or being imported)
        self.marks: list[tuple[str, weakref.ref]] = []
        self.lock = threading.Lock()

    # -- import hooks
    def find_spec(self, fullname, path, target=None):
        if self.released or not (fullname == NAME or fullname.startswith(NAME + ".")):
            return None
        if fullname == NAME:
            real = importlib.machinery.PathFinder.find_spec(fullname, path)
            if real is None or self.stand_in is not None:
                return None
            return importlib.machinery.ModuleSpec(fullname, self, origin=real.origin, is_package=True)
        if fullname in LEAVES and self.stand_in is not None:
            spec = importlib.machinery.PathFinder.find_spec(fullname, [os.path.dirname(self.stand_in.__file__)])
            if spec is not None and _standalone(spec.origin):
                return spec
        # Any other submodule: only the real package can hold it.
        real = self.release()
        if fullname in sys.modules:
            # The package imported it just now. Found in sys.modules, the import system would run
            # it again from its own spec; taken out, it is handed back unchanged by _Imported.
            return importlib.util.spec_from_loader(fullname, _Imported(sys.modules.pop(fullname)))
        return importlib.machinery.PathFinder.find_spec(fullname, real.__path__)

    def create_module(self, spec):
        self.stand_in = _StandIn(self, spec.origin)
        return self.stand_in

    def exec_module(self, module) -> None:
        pass

    # -- the real module
    def release(self) -> Any:
        """The real torch._dynamo, imported now if it is not yet, with the marks deferred so far."""
        with self.lock:
            first = not self.released
            self.released = True
            if first and sys.modules.get(NAME) is self.stand_in:
                del sys.modules[NAME]
        real = importlib.import_module(NAME)
        if first:
            with self.lock:
                marks, self.marks = self.marks, []
            for name, ref in marks:
                fn = ref()
                if fn is not None:
                    getattr(real, name)(fn)
            for leaf in LEAVES:  # a leaf imported before the package is its attribute too
                if leaf in sys.modules and not hasattr(real, leaf.rpartition(".")[2]):
                    setattr(real, leaf.rpartition(".")[2], sys.modules[leaf])
        return real

    def mark(self, name: str, fn: Any) -> Any:
        try:
            ref = weakref.ref(fn)
        except TypeError:  # nothing to hold it by: mark it for real
            return getattr(self.release(), name)(fn)
        with self.lock:
            if not self.released:
                self.marks.append((name, ref))
                return fn
        return getattr(self.release(), name)(fn)


def _standalone(path: str | None) -> bool:
    """Whether the module at ``path`` imports, at its top level, only modules already imported
    and nothing under torch._dynamo (so running it imports nothing)."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, TypeError, ValueError):
        return False
    names: list[str] = []
    for node in _top_level(tree.body):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                return False
            names.append(node.module)
    return all(name in sys.modules and not (name == NAME or name.startswith(NAME + ".")) for name in names)


def _top_level(body: list) -> Iterator[ast.stmt]:
    """The statements that run on import: the module's, and those inside its if/try blocks."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try)):
            for block in (node.body, node.orelse, getattr(node, "finalbody", []),
                          *(handler.body for handler in getattr(node, "handlers", []))):
                yield from _top_level(block)


class _Imported(importlib.abc.Loader):
    """Hands back a submodule the real package already imported, unchanged."""

    def __init__(self, module) -> None:
        self.module, self.spec = module, module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        module.__spec__ = self.spec  # the import machinery set the spec that found it


class _StandIn(types.ModuleType):
    """``torch._dynamo`` until something needs more of it than these."""

    def __init__(self, deferral: _Deferral, origin: str | None) -> None:
        super().__init__(NAME, "Stands in for torch._dynamo until something compiles (nodegraph.startup.deferred_dynamo).")
        self.__file__ = origin  # what inspect and warnings read off every module
        self.__path__: list[str] = []  # submodules go through the finder, which imports the real one
        self._deferral = deferral
        self.eval_frame = _EvalFrame(deferral)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._deferral.release(), name)

    def allow_in_graph(self, fn):
        if isinstance(fn, (list, tuple)):
            return [self.allow_in_graph(f) for f in fn]
        return self._deferral.mark("allow_in_graph", fn)

    def assume_constant_result(self, fn):
        return self._deferral.mark("assume_constant_result", fn)

    def disable(self, fn=None, recursive=True, **options):
        deferral = self._deferral
        if deferral.released or not (fn is None or isinstance(fn, types.FunctionType)):
            return deferral.release().disable(fn, recursive, **options)
        if fn is None:  # used as @disable(recursive=...)
            return functools.partial(self.disable, recursive=recursive, **options)
        return _disabled(deferral, fn, recursive, options)


def _disabled(deferral: _Deferral, fn: Callable, recursive: bool, options: dict) -> Callable:
    real_disabled = None

    @functools.wraps(fn)
    def call(*args, **kwargs):
        nonlocal real_disabled
        if real_disabled is None:
            if not deferral.released:  # nothing can be compiling: the function as it is
                return fn(*args, **kwargs)
            real_disabled = deferral.release().disable(fn, recursive, **options)
        return real_disabled(*args, **kwargs)

    return call


class _CompiledCheck(type):
    def __instancecheck__(cls, obj) -> bool:
        real = getattr(sys.modules.get(NAME + ".eval_frame"), "OptimizedModule", None)
        return real is not None and isinstance(obj, real)

    def __subclasscheck__(cls, sub) -> bool:
        real = getattr(sys.modules.get(NAME + ".eval_frame"), "OptimizedModule", None)
        return real is not None and issubclass(sub, real)


class _OptimizedModule(metaclass=_CompiledCheck):
    """Matches what ``torch._dynamo.eval_frame.OptimizedModule`` matches: nothing before it exists."""


class _EvalFrame:
    """``torch._dynamo.eval_frame`` as ``is_compiled_module`` (diffusers, accelerate) reads it."""

    OptimizedModule = _OptimizedModule

    def __init__(self, deferral: _Deferral) -> None:
        self._deferral = deferral

    def __getattr__(self, name: str) -> Any:
        return getattr(self._deferral.release().eval_frame, name)


@contextmanager
def dynamo_deferred(enabled: bool = True) -> Iterator[None]:
    """Inside the block, a first ``import torch._dynamo`` is deferred (see the module's doc).

    A stand-in made inside the block stays after it, until something needs the real module."""
    if (not enabled or os.environ.get("NODEGRAPH_DEFER_DYNAMO", "1") == "0" or NAME in sys.modules
            or any(isinstance(finder, _Deferral) for finder in sys.meta_path)):
        yield
        return
    deferral = _Deferral()
    sys.meta_path.insert(0, deferral)
    try:
        yield
    finally:
        if deferral.stand_in is None or deferral.released:
            deferral.released = True  # inert from here, in case an import holds it right now
            sys.meta_path.remove(deferral)


def deferred() -> bool:
    """Whether this process still has the stand-in in place of torch._dynamo."""
    return isinstance(sys.modules.get(NAME), _StandIn)
