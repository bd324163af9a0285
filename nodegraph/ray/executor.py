"""Run a job's plan on Ray (``--executor ray``) with the in-process executor's semantics.

The driver (this process) keeps everything that defines a job: it computes every node's
Merkle key, serves cache hits from its own tiers without touching Ray, submits a node once
all its inputs are known (a ready set, so independent branches run side by side), relays the
events remote nodes emit, and puts remote results back into its cache. Values flow between
workers through Ray's object store; the driver fetches a result only for its cache or for a
node it runs itself (output nodes; see placement.py). Every wait is bounded.

Importing this module imports Ray. It registers as executor ``ray`` (entry point group
``nodegraph.executors``); the engine loads it only when ``--executor ray`` is chosen.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

import ray
from ray import exceptions as ray_errors

from ..api.errors import Interrupted, UsageError
from ..run.cache import CacheEntry
from ..run.context import RunContext, phase_fields
from ..run.executor import (Job, RunResult, error_event, finished_event, node_key, persistable, run_node,
                            runs_deterministically)
from .placement import (ACTOR, DRIVER, ModelWorkerPool, Placement, alive_nodes, describe, feasible_on,
                            placement_of)
from .remote import RELAY_TIMEOUT_S, ClassRef, EnvSpec, EventRelay, NodeCall, run_task

LOCAL_HOST = "127.0.0.1"


def connect(address: str | None, num_cpus: int | None = None, object_store_memory: int | None = None) -> bool:
    """Start a local Ray bound to 127.0.0.1 (no address) or join a cluster (``auto``,
    ``ray://host:port``, ``host:port``). Returns whether this call initialised Ray."""
    if ray.is_initialized():
        return False
    if address is None:
        # Ray binds every interface unless this flag is off; it is read when Ray is imported (by
        # this process and by the processes it starts), so an already imported Ray is told too.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        from ray._private import ray_constants
        ray_constants.ENABLE_RAY_CLUSTER = False
        ray.init(address="local", num_cpus=num_cpus, object_store_memory=object_store_memory, include_dashboard=False,
                 _node_ip_address=LOCAL_HOST, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    return True


def _worker_runtime_env() -> dict[str, Any]:
    """Workers use the CPU threads a local run here uses (Ray would force one per assigned CPU):
    float reductions depend on the thread count, so this keeps CPU results byte-identical."""
    threads = os.environ.get("OMP_NUM_THREADS")
    if not threads:
        torch = sys.modules.get("torch")
        if torch is not None:
            threads = str(torch.get_num_threads())
        else:
            try:
                import psutil
                threads = str(psutil.cpu_count(logical=False) or os.cpu_count() or 1)
            except ImportError:
                threads = str(os.cpu_count() or 1)
    return {"env_vars": {"OMP_NUM_THREADS": threads}}


def _gpu_job(device: str) -> bool:
    if device.startswith("cuda"):
        return True
    if device == "auto":
        return ray.cluster_resources().get("GPU", 0) > 0
    return False


# Ray's own failures: the worker, its node or an object died; the node itself did not fail.
_WORKER_LOST = (ray_errors.WorkerCrashedError, ray_errors.RayActorError, ray_errors.NodeDiedError,
                ray_errors.ObjectLostError, ray_errors.LocalRayletDiedError)


class RayExecutor:
    """``execute(job)`` on a Ray cluster; one per session (model workers stay warm across jobs)."""

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None,
                 object_store_memory: int | None = None, poll_s: float = 0.05, fetch_timeout_s: float = 600.0,
                 start_timeout_s: float = 600.0, grace_s: float = 30.0):
        if os.environ.get("RAY_ENABLE_ZERO_COPY_TORCH_TENSORS", "0") not in ("", "0"):
            raise UsageError("RAY_ENABLE_ZERO_COPY_TORCH_TENSORS hands nodes writable views of shared "
                             "objects (an in-place edit corrupts them for every reader); unset it")
        self.address = address
        self.num_cpus = num_cpus
        self.object_store_memory = object_store_memory
        self.poll_s = poll_s
        self.fetch_timeout_s = fetch_timeout_s
        self.start_timeout_s = start_timeout_s
        self.grace_s = grace_s
        self.pool = ModelWorkerPool()
        self.lock = threading.RLock()  # the pool and the relay are shared by concurrent jobs
        self._relay: Any = None
        self.runtime_env: dict[str, Any] = {}
        self._started_ray = False
        self._types: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def relay(self) -> Any:
        with self.lock:
            if self._relay is None:
                self._started_ray = connect(self.address, self.num_cpus, self.object_store_memory)
                self.runtime_env = _worker_runtime_env()
                self._relay = EventRelay.remote()
            return self._relay

    def types_ref(self, types: Any) -> tuple[str, Any]:
        """The job's socket types, put in the object store once; workers fetch them once."""
        with self.lock:
            held = self._types.get(types)
            if held is None:
                held = self._types[types] = (uuid.uuid4().hex, ray.put(types))
            return held

    def execute(self, job: Job) -> RunResult:
        relay = self.relay()
        return _JobRun(self, job, relay).run()

    def close(self) -> None:
        """Stop this executor's workers; shut Ray down if this executor started or joined it."""
        with self.lock:
            if not ray.is_initialized():
                return
            self.pool.close()
            if self._relay is not None:
                ray.kill(self._relay)
                self._relay = None
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False


@dataclass
class _Flight:
    node_id: str
    meta: Any
    out: Any
    placement: Placement
    slot: str | None  # the model-worker slot it was sent to (None: a plain task)
    attempt: int
    submitted: float
    started: bool = False


class _JobRun:
    """One job on Ray: the driver's loop and everything it tracks."""

    def __init__(self, executor: RayExecutor, job: Job, relay: Any):
        self.x, self.job, self.relay = executor, job, relay
        self.emit = job.sink
        self.tag = {"job": job.id}
        graph, plan = job.graph, job.plan
        self.order = plan.order
        self.parents = {n: tuple(dict.fromkeys(link.node for link in graph.nodes[n].links.values()))
                        for n in plan.order}
        self.children: dict[str, list[str]] = {n: [] for n in plan.order}
        for n, ps in self.parents.items():
            for p in ps:
                self.children[p].append(n)
        self.waiting = {n: len(ps) for n, ps in self.parents.items()}
        self.remaining = {n: 0 for n in plan.consumers}  # children reading each node (one per child here)
        for ps in self.parents.values():
            for parent in ps:
                if parent in self.remaining:
                    self.remaining[parent] += 1
        self.keys: dict[str, str] = {}
        self.local: dict[str, dict[str, Any]] = {}  # values the driver holds
        self.refs: dict[str, Any] = {}  # values in the object store
        self.aliases: dict[str, list[str]] = {}  # same key as a node already running in this job
        self.flights: dict[Any, _Flight] = {}
        self.received: dict[str, int] = {}
        self.ready: deque[str] = deque()
        self.done: set[str] = set()
        self.hits: dict[str, CacheEntry | None] = {}
        self.persistable: dict[type, bool] = {}
        self.result = RunResult("success", [], [], 0.0, [])
        self.stopped_at: float | None = None
        self.interrupted_node: str | None = None
        self.last_drain = 0.0
        self.env_spec = EnvSpec.of(job.env)
        self.types = executor.types_ref(job.types)
        self.token_of: dict[str, str] = {}  # model-chain token of each actor node (sticky placement)
        self.placements: dict[str, Placement] = {}

    # --- the loop ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        started = time.perf_counter()
        self.emit({"event": "start", "nodes": list(self.order), **self.tag})
        try:
            if self._prepare():
                self._loop()
        finally:
            self.relay.forget.remote(self.job.id)
        result = self.result
        result.seconds = time.perf_counter() - started
        self.emit({"event": "done", "status": result.status, "executed": len(result.executed),
                   "cached": len(result.cached), "seconds": round(result.seconds, 6),
                   "outputs": result.outputs, **self.tag})
        return result

    def _prepare(self) -> bool:
        """Keys, cache hits, aliases and placements; fails fast on a node no Ray node can host."""
        job, graph = self.job, self.job.graph
        nonce = uuid.uuid4().hex
        gpu_job = _gpu_job(job.env.device)
        first_with_key: dict[str, str] = {}
        nodes = None
        for node_id in self.order:
            gnode = graph.nodes[node_id]
            key = self.keys[node_id] = node_key(gnode, self.keys, job, nonce)
            if job.cache.enabled and key in first_with_key:
                self.aliases.setdefault(first_with_key[key], []).append(node_id)
                continue
            first_with_key.setdefault(key, node_id)
            placement = self.placements[node_id] = placement_of(gnode.cls, gnode.literals, gpu_job)
            if placement.kind == DRIVER:
                continue
            if placement.kind == ACTOR:
                chain = [self.token_of[p] for name, link in sorted(gnode.links.items())
                         for p in (link.node,) if p in self.token_of
                         and self.placements.get(p) and self.placements[p].shape == placement.shape]
                self.token_of[node_id] = chain[0] if chain else key
            nodes = alive_nodes() if nodes is None else nodes
            if not feasible_on(placement.needs, nodes):
                offered = "; ".join(describe(_schedulable(total)) for total in nodes.values())
                self._fail(node_id, "NotPlaceable",
                           f"node {node_id!r} ({gnode.cls.node_type}) needs {describe(placement.needs)} per run, "
                           f"but no node of the Ray cluster has that much (its nodes offer: {offered})")
                return False
        self.ready.extend(n for n in self.order if self.waiting[n] == 0)
        return True

    def _loop(self) -> None:
        while True:
            if self.stopped_at is None and self.job.interrupt.is_set:
                self._interrupt(None)
            while self.ready and self.stopped_at is None:
                self._start(self.ready.popleft())
            if not self.flights:
                return
            for flight in self._wait():
                self._land(flight)
            if self.stopped_at is not None and time.monotonic() - self.stopped_at > self.x.grace_s:
                self._abandon()
                return

    # --- starting nodes -----------------------------------------------------------------------
    def _hit(self, node_id: str) -> CacheEntry | None:
        if node_id not in self.hits:
            entry, _tier = self.job.cache.get(self.keys[node_id])
            self.hits[node_id] = entry if entry is not None and entry.files_present() else None
        return self.hits[node_id]

    def _start(self, node_id: str) -> None:
        if node_id not in self.placements:  # a twin: served when the node with its key is done
            return
        entry = self._hit(node_id)
        if entry is not None:
            self._cached(node_id, entry)
            self._resolved(node_id, entry)
            self._serve_twins(node_id, entry)
        elif self.placements[node_id].kind == DRIVER:
            self._run_here(node_id)
        else:
            self._submit(node_id, attempt=1)

    def _submit_ready_remote(self) -> None:
        """Submit the ready nodes that emit nothing when submitted (so events keep their order)."""
        keep: deque[str] = deque()
        while self.ready:
            node_id = self.ready.popleft()
            placement = self.placements.get(node_id)
            if placement is None or placement.kind == DRIVER or self._hit(node_id) is not None:
                keep.append(node_id)
            else:
                self._submit(node_id, attempt=1)
        self.ready = keep

    def _submit(self, node_id: str, attempt: int) -> None:
        gnode = self.job.graph.nodes[node_id]
        parents = self.parents[node_id]
        index = {p: i for i, p in enumerate(parents)}
        links = tuple((name, index[link.node], link.output) for name, link in gnode.links.items())
        args = [self._ref(p) for p in parents]
        call = NodeCall(self.job.id, node_id, ClassRef.of(gnode.cls), dict(gnode.literals), links,
                        self.keys[node_id], self.env_spec, self.types, self.relay)
        placement = self.placements[node_id]
        slot = None
        if placement.kind == ACTOR:
            with self.x.lock:
                try:
                    actor, slot = self.x.pool.pick(placement, self.token_of[node_id], alive_nodes(),
                                                       self.x.runtime_env)
                except LookupError:
                    self._fail(node_id, "NotPlaceable", f"node {node_id!r} ({gnode.cls.node_type}) needs "
                                                        f"{describe(placement.needs)}; no live Ray node has it")
                    return
                self.x.pool.started(placement, slot, +1)
            meta, out = actor.run.remote(call, *args)
        else:
            options = {k: v for k, v in placement.options if v is not None}
            meta, out = run_task.options(runtime_env=self.x.runtime_env, **options).remote(call, *args)
        self.flights[meta] = _Flight(node_id, meta, out, placement, slot, attempt, time.monotonic())

    def _ref(self, node_id: str) -> Any:
        ref = self.refs.get(node_id)
        if ref is None:
            ref = self.refs[node_id] = ray.put(self.local[node_id])
        return ref

    def _value(self, node_id: str) -> dict[str, Any]:
        value = self.local.get(node_id)
        if value is None:
            value = self.local[node_id] = ray.get(self.refs[node_id], timeout=self.x.fetch_timeout_s)
        return value

    def _run_here(self, node_id: str) -> None:
        """An output node, run in the driver as the in-process executor runs it."""
        job, gnode = self.job, self.job.graph.nodes[node_id]
        cls = gnode.cls
        try:
            inputs = dict(gnode.literals)
            for name, link in gnode.links.items():
                inputs[name] = self._value(link.node)[link.output]
        except (ray_errors.RayError, ray_errors.GetTimeoutError) as exc:
            self._fail(node_id, type(exc).__name__, f"node {node_id!r} ({cls.node_type}): its inputs could "
                                                    f"not be fetched from Ray: {_first_line(exc)}")
            return
        self.emit({"event": "executing", "node": node_id, **self.tag})
        ctx = RunContext(node_id, cls.node_type, job.env, job.interrupt, self.emit, job.graph, job.id,
                         self.keys[node_id])
        started = time.perf_counter()
        try:
            with ctx.recording():
                outputs = run_node(cls, inputs, ctx, job.types)
            took = time.perf_counter() - started
        except Interrupted:
            self._interrupt(node_id)
            return
        except Exception as exc:  # noqa: BLE001 - every node failure becomes an event
            self._error(error_event(node_id, cls.node_type, exc, self.tag))
            return
        entry = CacheEntry(outputs, tuple(ctx.files_written), ctx.ui)
        self._record(node_id, entry, None, put=True, seconds=took, phases=ctx.phases)
        self._resolved(node_id, entry)
        self._serve_twins(node_id, entry)

    # --- landing results ----------------------------------------------------------------------
    def _wait(self) -> list[_Flight]:
        refs = list(self.flights)
        ready, _ = ray.wait(refs, num_returns=1, timeout=self.x.poll_s)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        self._drain(force=False)
        now = time.monotonic()
        for flight in list(self.flights.values()):
            if (not flight.started and flight not in ready and self.stopped_at is None
                    and now - flight.submitted > self.x.start_timeout_s):
                self._cancel(flight)
                self._fail(flight.node_id, "NotPlaced", f"node {flight.node_id!r} was not placed on any Ray node "
                                                        f"within {self.x.start_timeout_s:g} s "
                                                        f"(needs {describe(flight.placement.needs)})")
        return [self.flights.pop(ref) for ref in ready if ref in self.flights]

    def _drain(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self.last_drain < self.x.poll_s:
            return
        self.last_drain = now
        events = ray.get(self.relay.drain.remote(self.job.id), timeout=RELAY_TIMEOUT_S)
        by_node = {f.node_id: f for f in self.flights.values()}
        for event in events:
            node_id = event.get("node")
            self.received[node_id] = self.received.get(node_id, 0) + 1
            if event["event"] == "executing" and node_id in by_node:
                by_node[node_id].started = True
            self.emit(event)

    def _land(self, flight: _Flight) -> None:
        node_id, cls = flight.node_id, self.job.graph.nodes[flight.node_id].cls
        if flight.slot is not None:
            with self.x.lock:
                self.x.pool.started(flight.placement, flight.slot, -1)
        try:
            meta = ray.get(flight.meta, timeout=RELAY_TIMEOUT_S)
        except ray_errors.TaskCancelledError:
            self._interrupt(node_id)
            return
        except _WORKER_LOST as exc:
            self._lost(flight, exc)
            return
        except (ray_errors.RayError, ray_errors.GetTimeoutError) as exc:
            self._fail(node_id, type(exc).__name__, f"node {node_id!r} ({cls.node_type}): Ray failed: "
                                                    f"{_first_line(exc)}")
            return
        deadline = time.monotonic() + RELAY_TIMEOUT_S
        while self.received.get(node_id, 0) < meta["events"] and time.monotonic() < deadline:
            self._drain(force=True)  # its own events come before its result
            if self.received.get(node_id, 0) < meta["events"]:
                time.sleep(0.005)
        if meta["status"] == "interrupted":
            self._interrupt(node_id)
            return
        if meta["status"] == "failed":
            self._error(meta["error"])
            return
        self.refs[node_id] = flight.out
        running = self.stopped_at is None
        if running:  # children start before the driver fetches this result for its cache
            self._resolved(node_id, None)
            self._submit_ready_remote()
        entry = CacheEntry({}, tuple(meta["files"]), meta["ui"])
        if self.job.cache.enabled:  # finished nodes stay cached, even after an interrupt
            try:
                entry.outputs = ray.get(flight.out, timeout=self.x.fetch_timeout_s)
            except (ray_errors.RayError, ray_errors.GetTimeoutError) as exc:
                self._fail(node_id, type(exc).__name__, f"node {node_id!r} ({cls.node_type}): its outputs "
                                                        f"could not be fetched from Ray: {_first_line(exc)}")
                return
        self._record(node_id, entry, meta["ray_node"], put=self.job.cache.enabled, seconds=meta["seconds"],
                     phases=meta.get("phases") or {})
        if running:
            self._serve_twins(node_id, entry)

    def _lost(self, flight: _Flight, exc: BaseException) -> None:
        """The worker (or its node) died mid-node: run a deterministic node once more, else fail."""
        gnode = self.job.graph.nodes[flight.node_id]
        if flight.slot is not None:
            with self.x.lock:
                self.x.pool.discard(flight.placement, flight.slot)
        if self.stopped_at is None and flight.attempt == 1 and runs_deterministically(gnode.cls, gnode.literals):
            self._submit(flight.node_id, attempt=2)
            return
        again = " (it was run twice)" if flight.attempt > 1 else " (not retried: the node is not deterministic)"
        self._fail(flight.node_id, type(exc).__name__,
                   f"node {flight.node_id!r} ({gnode.cls.node_type}): the Ray worker running it died{again}: "
                   f"{_first_line(exc)}")

    def _record(self, node_id: str, entry: CacheEntry, ray_node: str | None, put: bool, seconds: float,
                phases: dict[str, float]) -> None:
        """An ``executed`` node: into the cache, its event (with the seconds its run() took and
        their phases, as in-process), and the job's outputs."""
        cls = self.job.graph.nodes[node_id].cls
        if put:
            persist = self.persistable.get(cls)
            if persist is None:
                persist = self.persistable[cls] = persistable(cls, self.job.types)
            self.job.cache.put(self.keys[node_id], entry, persist)
        self.result.executed.append(node_id)
        event = {**finished_event("executed", node_id, self.job.id, entry), "seconds": round(seconds, 6),
                 **phase_fields(phases)}
        if ray_node is not None:
            event["ray_node"] = ray_node  # where it ran
        self.emit(event)
        self._output(node_id, entry)

    def _cached(self, node_id: str, entry: CacheEntry) -> None:
        self.result.cached.append(node_id)
        self.emit(finished_event("cached", node_id, self.job.id, entry))
        self._output(node_id, entry)

    def _output(self, node_id: str, entry: CacheEntry) -> None:
        if self.job.graph.nodes[node_id].cls.output_node:
            self.result.outputs.extend(entry.files)
            self.result.ui[node_id] = entry.ui
            self.result.values[node_id] = entry.outputs

    def _resolved(self, node_id: str, entry: CacheEntry | None) -> None:
        """A node's value is known (locally or in the object store): its children may become ready."""
        if entry is not None:
            self.local[node_id] = entry.outputs
        self.done.add(node_id)
        for parent in self.parents[node_id]:
            self.remaining[parent] -= 1
            if self.remaining[parent] <= 0:  # a long chain holds O(1) values
                self.local.pop(parent, None)
                self.refs.pop(parent, None)
        for child in self.children[node_id]:
            self.waiting[child] -= 1
            if self.waiting[child] == 0:
                self.ready.append(child)

    def _serve_twins(self, node_id: str, entry: CacheEntry) -> None:
        """Nodes with the same key as ``node_id`` are served from its result, as from the cache."""
        for twin in self.aliases.pop(node_id, ()):
            self._cached(twin, entry)
            if node_id in self.refs:
                self.refs[twin] = self.refs[node_id]
            self._resolved(twin, entry)

    # --- stopping -----------------------------------------------------------------------------
    def _stop(self) -> None:
        if self.stopped_at is not None:
            return
        self.stopped_at = time.monotonic()
        self.relay.interrupt.remote(self.job.id)  # running nodes stop at their next progress step
        self.ready.clear()
        for flight in list(self.flights.values()):
            if not flight.started:
                self._cancel(flight)

    def _cancel(self, flight: _Flight, force: bool = False) -> None:
        try:
            ray.cancel(flight.meta, force=force and flight.placement.kind != ACTOR)
        except Exception:  # noqa: BLE001 - it finished meanwhile
            pass

    def _abandon(self) -> None:
        """Nodes that ignored the interrupt for ``grace_s``: their workers are stopped."""
        for flight in list(self.flights.values()):
            if flight.placement.kind == ACTOR and flight.slot is not None:
                with self.x.lock:
                    self.x.pool.started(flight.placement, flight.slot, -1)
                    self.x.pool.discard(flight.placement, flight.slot)
            else:
                self._cancel(flight, force=True)
        self.flights.clear()

    def _interrupt(self, node_id: str | None) -> None:
        if self.result.status == "success":
            self.result.status = "interrupted"
            at = node_id or next((f.node_id for f in self.flights.values()), None) \
                or next((n for n in self.order if n not in self.done), None)
            self.emit({"event": "interrupted", "node": at, **self.tag})
        self._stop()

    def _error(self, event: dict) -> None:
        if self.result.status != "failed":
            self.result.status = "failed"
            self.result.error = event
            self.emit(event)
        self._stop()

    def _fail(self, node_id: str, exception: str, message: str) -> None:
        node_type = self.job.graph.nodes[node_id].cls.node_type
        self._error({"event": "error", "node": node_id, "node_type": node_type, "message": message,
                     "exception": exception, "traceback": "", **self.tag})


def _schedulable(total: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """A Ray node's resources as a user declares them (no per-node markers or store sizes)."""
    return tuple(sorted((name, amount) for name, amount in total.items()
                        if not name.startswith(("node:", "accelerator_type:")) and name != "object_store_memory"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
