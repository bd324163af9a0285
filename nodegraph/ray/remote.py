"""The worker side of the Ray executor: what runs inside Ray tasks and actors.

A node runs from a ``NodeCall`` (small, picklable: its class by reference, literals, which
upstream result feeds which input, its cache key and the job's settings) plus the upstream
results themselves, which Ray hands over from its object store. Events go to an
``EventRelay`` actor the driver drains; the same relay carries the job's interrupt flag back.
Only the Ray executor (``executor.py``) imports this module, so the core never imports Ray.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from ..api.errors import Interrupted
from ..files.roots import FileRoots
from ..run.context import Environment, RunContext
from ..run.executor import error_event, run_node
from ..run.media_limits import MediaLimits
from ..startup.paths import default_cache_dir
from ..startup.trimmed_imports import trimmed_imports

RELAY_TIMEOUT_S = 30.0  # a relay answer is a dict lookup; 30 s means the relay is gone


@dataclass(frozen=True)
class ClassRef:
    """A node class by module and name, plus the file to import it from on a worker where the
    module is not importable by name (plugin folders are imported under generated names)."""
    module: str
    qualname: str
    file: str | None = None
    package_dir: str | None = None

    @classmethod
    def of(cls, node_cls: type) -> "ClassRef":
        module = sys.modules[node_cls.__module__]
        path = getattr(module, "__file__", None)
        package_dir = str(Path(path).parent) if path and getattr(module, "__path__", None) else None
        return cls(node_cls.__module__, node_cls.__qualname__, path, package_dir)

    def resolve(self) -> type:
        module = sys.modules.get(self.module)
        if module is None:
            try:
                module = importlib.import_module(self.module)
            except ImportError:
                if not self.file:
                    raise
                module = _import_file(self.module, self.file, self.package_dir)
        obj: Any = module
        for part in self.qualname.split("."):
            obj = getattr(obj, part)
        return obj


def _import_file(name: str, file: str, package_dir: str | None):
    if not os.path.exists(file):
        raise ImportError(f"module {name!r} is not installed on this Ray node and {file} does not exist "
                          "here (plugin folders must be on every node, at the same path)")
    spec = importlib.util.spec_from_file_location(name, file,
                                                  submodule_search_locations=[package_dir] if package_dir else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


@dataclass(frozen=True)
class EnvSpec:
    """What a worker needs to rebuild the job's Environment (its services stay per worker)."""
    files: FileRoots
    device: str
    demo_dir: Path
    cache_dir: Path | None
    demos: tuple = ()  # the catalogue's DemoAssets (their recipes travel by reference)
    compile: bool = False  # fast mode (--compile): the driver's choice, not the worker's environment
    media_limits: MediaLimits = MediaLimits()  # the driver's budgets (--max-image-pixels ...)

    @classmethod
    def of(cls, env: Environment) -> "EnvSpec":
        return cls(env.files, env.device, env.demo_dir, env.cache_dir, tuple(env.demos.values()), env.compile,
                   env.media_limits)

    def build(self) -> Environment:
        return Environment(files=self.files, device=self.device, demo_dir=self.demo_dir, cache_dir=self.cache_dir,
                           demos={d.name: d for d in self.demos}, compile=self.compile,
                           media_limits=self.media_limits)

    def token(self) -> str:
        """Identifies the settings, so a model worker keeps one Environment (and its services) per
        distinct settings across jobs."""
        return repr((self.files, self.device, self.demo_dir, self.cache_dir,
                     tuple((d.name, d.kind, d.version) for d in self.demos), self.compile, self.media_limits))


@dataclass(frozen=True)
class NodeCall:
    job_id: str
    node_id: str
    cls: ClassRef
    literals: dict[str, Any]
    links: tuple[tuple[str, int, str], ...]  # (input, index of the upstream result, output name)
    key: str
    env: EnvSpec
    types: tuple[str, Any]  # (token, ObjectRef of the job's TypeRegistry), fetched once per worker
    relay: Any = field(default=None, compare=False)  # the EventRelay actor


class _WorkerMemo:
    """Per worker process: node classes and type registries already fetched (Ray tasks are
    functions, so this small bounded memo is the only place such state can live)."""

    def __init__(self, size: int = 16):
        self.size = size
        self.classes: dict[ClassRef, type] = {}
        self.types: OrderedDict[str, Any] = OrderedDict()

    def node_class(self, ref: ClassRef) -> type:
        cls = self.classes.get(ref)
        if cls is None:
            cls = self.classes[ref] = ref.resolve()
        return cls

    def type_registry(self, token: str, ref: Any) -> Any:
        types = self.types.get(token)
        if types is None:
            types = self.types[token] = ray.get(ref, timeout=RELAY_TIMEOUT_S)
            while len(self.types) > self.size:
                self.types.popitem(last=False)
        return types


_MEMO = _WorkerMemo()


class RelayedInterrupt:
    """The job's interrupt token as seen on a worker: every relayed event answers whether the job
    was interrupted; the answer to the previous event is read without blocking, so a node that
    reports progress each step stops within one step of the driver's interrupt."""

    def __init__(self, relay: Any, job_id: str):
        self._relay = relay
        self._job = job_id
        self._pending: Any = None
        self._set = False

    def note(self, answer: Any) -> None:
        self._read(block=False)
        self._pending = answer

    def _read(self, block: bool) -> None:
        if self._pending is None or self._set:
            return
        ready, _ = ray.wait([self._pending], timeout=RELAY_TIMEOUT_S if block else 0)
        if ready:
            self._set = bool(ray.get(ready[0], timeout=RELAY_TIMEOUT_S))
            self._pending = None

    @property
    def is_set(self) -> bool:
        self._read(block=False)
        if self._pending is None and not self._set:
            self._pending = self._relay.interrupted.remote(self._job)  # answered by the next look
        return self._set

    def set(self) -> None:
        self._set = True

    def check(self) -> None:
        if self.is_set:
            raise Interrupted("interrupted")


def run_call(call: NodeCall, env: Environment, upstream: tuple) -> tuple[dict[str, Any], dict | None]:
    """Run one node; returns (facts for the driver, outputs or None). Node failures are facts,
    not exceptions, so that Ray's own errors always mean the worker or the cluster failed."""
    relay, job_id = call.relay, call.job_id
    token = RelayedInterrupt(relay, job_id)
    sent = 0

    def emit(event: dict) -> None:
        nonlocal sent
        sent += 1
        token.note(relay.push.remote(job_id, event))

    where = {"ray_node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}
    cls = _MEMO.node_class(call.cls)
    inputs = dict(call.literals)
    for name, index, output in call.links:
        inputs[name] = upstream[index][output]
    emit({"event": "executing", "node": call.node_id, "job": job_id})
    ctx = RunContext(call.node_id, cls.node_type, env, token, emit, None, job_id, call.key)
    started = time.perf_counter()
    try:
        # As `nodegraph run` does: stored import scans (this machine's cache folder: the driver's
        # may not exist here), torch._dynamo deferred unless the job compiles.
        with ctx.recording(), trimmed_imports(default_cache_dir(), env.compile):
            outputs = run_node(cls, inputs, ctx, _MEMO.type_registry(*call.types))
        took = time.perf_counter() - started  # run() only, measured where it ran
    except Interrupted:
        return {"status": "interrupted", "events": sent, **where}, None
    except Exception as exc:  # noqa: BLE001 - every node failure becomes an event, as in-process
        return {"status": "failed", "events": sent, "error": error_event(call.node_id, cls.node_type, exc,
                                                                           {"job": job_id}), **where}, None
    return {"status": "ok", "events": sent, "files": tuple(ctx.files_written), "ui": ctx.ui, "seconds": took,
            "phases": ctx.phases, **where}, outputs


@ray.remote(num_returns=2, max_retries=0)
def run_task(call: NodeCall, *upstream: dict) -> tuple[dict[str, Any], dict | None]:
    """A stateless node: a plain Ray task with a fresh Environment."""
    return run_call(call, call.env.build(), upstream)


@ray.remote(num_cpus=0, max_restarts=0)
class ModelWorker:
    """Runs nodes that hold models on one Ray node, keeping their services (model managers,
    LLM backends; each with its own memory budget) warm across jobs."""

    def __init__(self) -> None:
        self._envs: dict[str, Environment] = {}

    def ready(self) -> str:
        return ray.get_runtime_context().get_node_id()

    @ray.method(num_returns=2)
    def run(self, call: NodeCall, *upstream: dict) -> tuple[dict[str, Any], dict | None]:
        token = call.env.token()
        env = self._envs.get(token)
        if env is None:
            env = self._envs[token] = call.env.build()
        return run_call(call, env, upstream)


@ray.remote(num_cpus=0, max_restarts=-1)
class EventRelay:
    """Events from running nodes, per job, until the driver drains them; and interrupt flags."""

    def __init__(self) -> None:
        self._events: dict[str, list[dict]] = {}
        self._interrupted: set[str] = set()

    def push(self, job_id: str, event: dict) -> bool:
        self._events.setdefault(job_id, []).append(event)
        return job_id in self._interrupted

    def drain(self, job_id: str) -> list[dict]:
        return self._events.pop(job_id, [])

    def interrupt(self, job_id: str) -> None:
        self._interrupted.add(job_id)

    def interrupted(self, job_id: str) -> bool:
        return job_id in self._interrupted

    def forget(self, job_id: str) -> None:
        self._events.pop(job_id, None)
        self._interrupted.discard(job_id)
