"""Executors run a plan: serve cache hits, run the rest, emit events, honour interrupts.

``Executor`` is the interface a ``Session`` runs jobs through; ``InProcessExecutor`` runs nodes
one after another in this process. A distributed executor (Ray) implements the same
``execute(job)``: values on edges are immutable and (where their type allows) picklable, and
everything a node needs arrives through its inputs and its ``RunContext``.

What every executor must do the same way is public here: ``node_key`` and
``runs_deterministically`` (the cache key), ``run_node`` (a node's run, once per item of a
value list), ``check_outputs``, ``persistable``, and the events ``finished_event`` and
``error_event``. Executors other than the in-process one are found by
name (``executors.py``), never imported by the engine.
"""
from __future__ import annotations

import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ..api.errors import Interrupted, NodeError
from ..api.lists import ValueList, as_value, item_at
from ..api.node import NEVER_CACHED, Node, implementation_digest, instantiate, takes_node_id
from ..api.types import TypeRegistry
from ..files.provenance import prefetch_digests
from ..files.roots import fingerprint_path
from ..graph.graph import Graph, GraphNode
from ..graph.plan import Plan
from .cache import Cache, CacheEntry, cache_key, continued_key, key_start
from .context import RUNNING_PHASES, Environment, InterruptToken, RunContext, phase_fields
from .events import Sink, null_sink


@dataclass
class Job:
    """One validated, planned run: what an executor needs, where its events go, how to stop it.

    ``sink`` receives every event (called from the executing thread); ``interrupt.set()`` from
    any thread stops the job between nodes or at a node's next progress check; ``result`` is
    filled in by ``Session.execute``.
    """
    graph: Graph
    plan: Plan
    env: Environment
    cache: Cache
    types: TypeRegistry
    sink: Sink = null_sink
    interrupt: InterruptToken = field(default_factory=InterruptToken)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    result: "RunResult | None" = None
    # With files still being written behind the job (``env.write_behind``), ``execute``
    # returns without ``done`` and ``RunResult.finish`` waits for them and emits it: the
    # server's worker starts the next job meanwhile. False: ``execute`` waits itself.
    finish_later: bool = False
    # A sweep (graph/sweep.py): its plan, and the tracker in front of ``sink`` (run/sweep.py).
    sweep: Any = None


@dataclass
class RunResult:
    status: str  # "success", "failed" or "interrupted"
    executed: list[str]
    cached: list[str]
    seconds: float
    outputs: list[str]  # files written (or found in the cache) by output nodes
    error: dict[str, Any] | None = None
    ui: dict[str, dict[str, Any]] = field(default_factory=dict)  # per output node
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # outputs of output nodes
    # Set when the job's output files are still being written (``Job.finish_later``): call it
    # (once, from any thread) to wait for them and emit the job's last events.
    finish: Callable[[], None] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "success"


class Executor(Protocol):
    """Runs one job to its end and returns its result.

    The contract every executor keeps (the CLI, the server and the tests rely on it): emit
    ``start`` first and ``done`` last to ``job.sink``, each event tagged with ``job.id``; look
    up and fill ``job.cache`` by ``node_key``; stop with status ``interrupted`` once
    ``job.interrupt`` is set; turn a node's exception into an ``error`` event and status
    ``failed`` (never raise for it). An executor holding resources (a cluster connection) may
    also define ``close()``, which ``Session.close`` calls.
    """

    def execute(self, job: Job) -> RunResult: ...


class OutputMismatch(Exception):
    pass


@dataclass(frozen=True)
class _KeyFacts:
    """Per node class facts the key needs, computed once."""
    code: str  # digest of the node's implementation (its pack's source)
    file_inputs: tuple[tuple[str, str], ...]  # (input name, file kind)
    custom_fingerprint: bool
    custom_determinism: bool
    fingerprint_node_id: bool  # the fingerprint override takes node_id=
    node_type: str
    version: int
    # The key's fixed parts [node_type, version, code], serialised and hashed once per class
    # (``continued_key``): the same key as hashing them with every node's.
    start: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", key_start([self.node_type, self.version, self.code]))


def _overrides(cls, name: str) -> bool:
    return getattr(cls, name).__func__ is not getattr(Node, name).__func__


def _key_facts(cls) -> _KeyFacts:
    facts = cls.__dict__.get("_ng_key_facts")
    if facts is None:
        code = implementation_digest(cls)
        facts = cls._ng_key_facts = _KeyFacts(
            code,
            tuple((name, spec.file_kind) for name, spec in cls.inputs.items() if spec.file_kind),
            _overrides(cls, "fingerprint"), _overrides(cls, "is_deterministic"),
            takes_node_id(cls.fingerprint), cls.node_type, cls.version)
    return facts


def runs_deterministically(cls, literals: dict[str, Any]) -> bool:
    """Whether a run of ``cls`` with ``literals`` (validation's normalised dict) gives the same
    outputs again: what ``node_key`` decides a nonce by, and what lets an executor retry it."""
    return cls.is_deterministic(literals) if _key_facts(cls).custom_determinism else cls.deterministic


def node_key(gnode: GraphNode, keys: dict[str, str], job: Job, nonce: str, facts: _KeyFacts | None = None,
             output_dir: str | None = None) -> str:
    """Merkle key of one node: its own inputs plus its parents' keys, never their values.

    ``gnode.literals`` is validation's normalised dict (coerced, defaults filled, links left
    out), the same one every hook and the node instance see. ``facts`` (``_key_facts`` of its
    class) and ``output_dir`` (``str(job.env.output_dir)``): when the caller keeps them.
    """
    cls = gnode.cls
    if facts is None:
        facts = _key_facts(cls)
    literals = gnode.literals
    links = gnode.links
    upstream: list[Any] = []
    if links:
        for name, link in links.items():
            upstream.append((name, keys[link.node], link.output))
        upstream.sort()
    parts: list[Any] = [literals, upstream]  # after facts.start's [node_type, version, code]
    for name, kind in facts.file_inputs:
        value = literals.get(name)
        demo = job.env.demo(value)
        if demo is not None:  # keyed by its recipe's version: building it changes no key
            parts.append(f"{demo.value}@{demo.version}")
            continue
        path = job.env.files.resolve(kind, value) if isinstance(value, str) and value else None
        parts.append(fingerprint_path(path) if path is not None else None)
    never_cached = False
    if facts.custom_fingerprint:
        extra = (cls.fingerprint(literals, job.env, node_id=gnode.id) if facts.fingerprint_node_id
                 else cls.fingerprint(literals, job.env))
        if extra is NEVER_CACHED:
            never_cached = True
        elif extra is not None:
            parts.append(extra)
    if cls.output_node:
        parts.append(str(job.env.output_dir) if output_dir is None else output_dir)
    if never_cached or not (cls.is_deterministic(literals) if facts.custom_determinism else cls.deterministic):
        parts.append(nonce)
    # cache_key([node_type, version, code, *parts]); the class's attributes are read for every
    # node (a class whose version changes keys by the new one)
    start = facts.start if cls.version is facts.version and cls.node_type is facts.node_type else \
        key_start([cls.node_type, cls.version, facts.code])
    return continued_key(start, parts)


class InProcessExecutor:
    def execute(self, job: Job) -> RunResult:
        started = time.perf_counter()
        graph, plan, cache = job.graph, job.plan, job.cache
        # Events go straight to the sink until a node leaves files being written behind; from
        # then on through ``behind``, which holds them until those files are on disk.
        behind = _WrittenBehind(job.sink)
        emit = job.sink
        # Nobody listens (a job run for its result): the per-node events are not built at all.
        quiet = emit is null_sink
        job_tag = {"job": job.id}
        emit({"event": "start", "nodes": list(plan.order), **job_tag})
        nonce = uuid.uuid4().hex
        keys: dict[str, str] = {}
        values: dict[str, dict[str, Any]] = {}
        remaining = dict(plan.consumers)
        executed: list[str] = []
        cached: list[str] = []
        files: list[str] = []
        # Per node class, once per job: its key's facts, whether its outputs may go to disk, its output checks.
        by_class: dict[type, tuple[_KeyFacts, bool, tuple | None]] = {}
        result = RunResult("success", executed, cached, 0.0, files)
        digests_started = False
        # Looked up once: the loop below is the engine's per-node cost (benchmarks/executor_overhead.py).
        job_id, env, interrupt, types, now = job.id, job.env, job.interrupt, job.types, time.perf_counter
        record_phases, stop_recording = RUNNING_PHASES.set, RUNNING_PHASES.reset
        output_dir = str(env.output_dir)  # in every output node's key
        for node_id in plan.order:
            if interrupt.is_set:
                result.status = "interrupted"
                emit({"event": "interrupted", "node": node_id, **job_tag})
                break
            gnode = graph.nodes[node_id]
            cls = gnode.cls
            known = by_class.get(cls)
            if known is None:
                known = by_class[cls] = (_key_facts(cls), persistable(cls, types), output_checks(cls, types))
            key = keys[node_id] = node_key(gnode, keys, job, nonce, known[0], output_dir)
            entry = cache.get(key)[0]
            if entry is not None and (not entry.files or entry.files_present()):
                cached.append(node_id)
                if not quiet:
                    emit(finished_event("cached", node_id, job_id, entry))
            else:
                if not digests_started:  # something runs, so an output will want its files' digests
                    digests_started = True
                    # (outputs come last in a plan: from the end this stops at once)
                    if any(graph.nodes[n].cls.output_node for n in reversed(plan.order)):
                        prefetch_digests(graph, job.env)
                inputs = dict(gnode.literals)
                for name, link in gnode.links.items():
                    inputs[name] = values[link.node][link.output]
                if not quiet:
                    emit({"event": "executing", "node": node_id, "job": job_id})
                ctx = RunContext(node_id, cls.node_type, env, interrupt, behind, graph, job_id, key)
                node_started = now()
                recording = record_phases(ctx.phases)  # ``phase`` blocks count towards this node
                try:
                    outputs = run_node(cls, inputs, ctx, types, known[2])
                except Interrupted:
                    result.status = "interrupted"
                    emit({"event": "interrupted", "node": node_id, **job_tag})
                    break
                except Exception as exc:  # noqa: BLE001 - every node failure becomes an event
                    result.status = "failed"
                    result.error = error_event(node_id, cls.node_type, exc, job_tag, getattr(cls, "__plugin__", None))
                    emit(result.error)
                    break
                finally:
                    stop_recording(recording)
                took = now() - node_started  # run() only: caching is not the node's time
                entry = CacheEntry(outputs, tuple(ctx.files_written), ctx.ui)
                # An entry whose files are missing is a miss: one whose writing fails is never served.
                cache.put(key, entry, known[1])
                executed.append(node_id)
                if not quiet or ctx.pending_writes:  # (a failed write behind is found through its event)
                    finished = finished_event("executed", node_id, job_id, entry)
                    finished["seconds"] = round(took, 6)
                    if ctx.phases:
                        finished.update(phase_fields(ctx.phases))
                    if ctx.pending_writes:  # reported once its files are on disk (a client may fetch them)
                        behind.after_writes(finished, ctx.pending_writes, cls.node_type)
                        emit = behind
                    else:
                        emit(finished)
            values[node_id] = entry.outputs
            if cls.output_node:
                files.extend(entry.files)
                result.ui[node_id] = entry.ui
                result.values[node_id] = entry.outputs
            # Drop values nobody else needs, so a long chain holds O(1) of them.
            for link in gnode.links.values():
                left = remaining[link.node] = remaining[link.node] - 1
                if left <= 0:
                    values.pop(link.node, None)
        def finish() -> None:
            behind.release(result, job_tag)
            result.seconds = time.perf_counter() - started
            behind({"event": "done", "status": result.status, "executed": len(executed), "cached": len(cached),
                  "seconds": round(result.seconds, 6), "outputs": files, **job_tag})

        if behind.holding and job.finish_later:
            result.finish = finish
        else:
            finish()
        return result


class _WrittenBehind:
    """The job's sink, holding events back from the first node whose files are still being
    written (``env.write_behind``) until they are on disk: a client that sees ``executed`` can
    fetch the files, and events keep the order of a run that writes them in the node."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._held: list[tuple[dict[str, Any], tuple | None]] | None = None

    @property
    def holding(self) -> bool:
        return self._held is not None

    def __call__(self, event: dict[str, Any]) -> None:
        if self._held is None:
            self._sink(event)
        else:
            self._held.append((event, None))

    def after_writes(self, finished: dict[str, Any], futures: list, node_type: str) -> None:
        """``finished`` (an ``executed`` event) goes out once ``futures`` (its files) are done."""
        if self._held is None:
            self._held = []
        self._held.append((finished, (futures, node_type)))

    def release(self, result: RunResult, job_tag: dict) -> None:
        """Wait for the files and pass the held events on; a file that could not be written
        fails the job, naming its node, and is not among the outputs."""
        held, self._held = self._held or [], None
        for event, writes in held:
            failure = None
            for future in writes[0] if writes else ():
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - a failed write fails its node
                    failure = failure or exc
            if failure is None:
                self._sink(event)
                continue
            lost = set(event.get("outputs", ()))
            result.outputs[:] = [f for f in result.outputs if f not in lost]
            error = error_event(event["node"], writes[1], failure, job_tag)
            if result.status == "success":
                result.status, result.error = "failed", error
            self._sink(error)


def finished_event(kind: str, node_id: str, job_id: str, entry: CacheEntry) -> dict[str, Any]:
    """A ``cached`` or ``executed`` event; files written and canvas data only when there are some."""
    event = {"event": kind, "node": node_id, "job": job_id}
    if entry.files:
        event["outputs"] = list(entry.files)
    if entry.ui:
        event["ui"] = entry.ui
    return event


def run_node(cls, inputs: dict[str, Any], ctx: RunContext, types: TypeRegistry,
             checks: tuple | None = None) -> dict[str, Any]:
    """``cls(**inputs).run(ctx)``, its outputs checked; once per item when an input holds a
    ``ValueList`` and the class does not take lists (``api/lists.py``): its outputs are then
    ValueLists of the per-item results, and what it shows (``ctx.ui``) is gathered.
    ``checks``: ``output_checks(cls, types)``, when the caller keeps it per class."""
    if not cls.accepts_lists:
        for value in inputs.values():  # a plain loop: this runs for every node
            if isinstance(value, ValueList):
                lengths = [len(v) for v in inputs.values() if isinstance(v, ValueList)]
                return _run_per_item(cls, inputs, ctx, types, max(lengths) if min(lengths) else 0)
    outputs = instantiate(cls, inputs).run(ctx) or {}
    if checks is None or not _outputs_pass(outputs, checks):
        check_outputs(cls, outputs, types)
    return outputs


_MISSING = object()


def output_checks(cls, types: TypeRegistry) -> tuple[tuple[str, Callable[[Any], bool] | None], ...] | None:
    """(output name, its type's value check or None) per declared output: ``check_outputs``'s
    rules looked up once per class. None when an output is a union type (left to ``check_outputs``)."""
    checks = []
    for name, spec in cls.outputs.items():
        socket_type = types.get(spec.type)
        if socket_type is None and "," in spec.type:
            return None
        checks.append((name, None if socket_type is None else socket_type.check))
    return tuple(checks)


def _outputs_pass(outputs: Any, checks: tuple) -> bool:
    """True when ``check_outputs`` would pass ``outputs``, decided the cheap way (a plain dict
    of plain values); False sends them through ``check_outputs`` for its verdict and message."""
    if type(outputs) is not dict or len(outputs) != len(checks):
        return False
    for name, check in checks:
        value = outputs.get(name, _MISSING)
        if value is _MISSING or type(value) is ValueList or (check is not None and not check(value)):
            return False
    return True


def _run_per_item(cls, inputs: dict[str, Any], ctx: RunContext, types: TypeRegistry, count: int) -> dict[str, Any]:
    """ComfyUI's list semantics for a node that takes one value per input; an empty list runs
    nothing and gives empty lists."""
    key = ctx.cache_key
    results: dict[str, list[Any]] = {name: [] for name in cls.outputs}
    shown: dict[str, Any] = {}
    for index in range(count):
        ctx.ui = {}
        if count > 1 and key is not None:  # each item's files get their own names
            ctx.cache_key = cache_key([key, index])
        outputs = instantiate(cls, {n: item_at(v, index) for n, v in inputs.items()}).run(ctx) or {}
        check_outputs(cls, outputs, types)
        for name, value in outputs.items():
            results[name].extend(value if isinstance(value, ValueList) else (value,))
        _gather_ui(shown, ctx.ui)
    ctx.cache_key, ctx.ui = key, shown
    return {name: as_value(values) if values else ValueList() for name, values in results.items()}


def _gather_ui(shown: dict[str, Any], ui: dict[str, Any]) -> None:
    """Lists are joined, texts put on separate lines, anything else is the last item's."""
    for name, value in ui.items():
        before = shown.get(name)
        if isinstance(value, list) and isinstance(before, list):
            shown[name] = before + value
        elif isinstance(value, str) and isinstance(before, str):
            shown[name] = before + "\n" + value
        else:
            shown[name] = value


def check_outputs(cls, outputs: Any, types: TypeRegistry) -> None:
    """Raise OutputMismatch unless ``outputs`` (what ``run`` returned) are exactly the declared ones, of their types."""
    if not isinstance(outputs, dict):
        raise OutputMismatch(f"{cls.node_type}.run returned {type(outputs).__name__}, expected a dict of outputs")
    declared = cls.outputs
    for name, spec in declared.items():
        if name not in outputs:
            raise OutputMismatch(f"output {name!r} ({spec.type}) was not produced")
        value = outputs[name]
        if isinstance(value, ValueList):
            for item in value:
                if not types.check_value(spec.type, item):
                    raise OutputMismatch(f"output {name!r} should be {spec.type} but is {_describe(item)} "
                                         "(an item of its list)")
        elif not types.check_value(spec.type, value):
            raise OutputMismatch(f"output {name!r} should be {spec.type} but is {_describe(value)}")
    if len(outputs) != len(declared):  # every declared output is there, so the others are extra
        raise OutputMismatch(f"produced undeclared outputs {sorted(set(outputs) - set(declared))}")


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__}{'' if shape is None else ' of shape ' + str(tuple(shape))}"


def persistable(cls, types: TypeRegistry) -> bool:
    """Whether the outputs of ``cls`` may go to the disk cache (no output of a ``persist=False`` type)."""
    return all(types.get(o.type) is None or types.get(o.type).persist for o in cls.outputs.values())


def error_event(node_id: str, node_type: str, exc: BaseException, job_tag: dict,
                plugin: str | None = None) -> dict[str, Any]:
    """The ``error`` event of a node whose run raised ``exc`` (``job_tag``: the job's id field;
    ``plugin``: the pack of its type)."""
    event = {"event": "error", "node": node_id, "node_type": node_type,
             "message": str(exc) or type(exc).__name__, "exception": type(exc).__name__,
             "traceback": "".join(traceback.format_exception(exc)), **job_tag}
    if plugin:
        event["plugin"] = plugin
    if isinstance(exc, NodeError) and exc.input:
        event["input"] = exc.input
    if isinstance(exc, OutputMismatch):
        event["message"] = f"node {node_id!r} ({node_type}): {exc}"
    return event
