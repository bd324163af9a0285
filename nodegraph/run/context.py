"""What a running node sees: its job's interrupt token, progress, settings and services."""
from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from ..api.errors import Interrupted
from ..files.roots import DemoAsset, FileRoots, demo_name
from .events import Sink, null_sink
from .media_limits import MediaLimits

T = TypeVar("T")


class InterruptToken:
    """Per-job interrupt flag. Checked between nodes by the executor, and by long nodes."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Interrupted("interrupted")


def fast_mode_from_env() -> bool:
    """``NODEGRAPH_COMPILE=1``: fast mode without ``--compile`` (run, serve, embedders)."""
    return os.environ.get("NODEGRAPH_COMPILE", "") == "1"


@dataclass
class Environment:
    """Settings and long-lived services shared by the jobs of one session (CLI run or server).

    ``services`` holds things like the model manager that keep state (warm models) across
    jobs; they are created on first use by ``service(name, factory)``.
    """
    files: FileRoots = field(default_factory=FileRoots)
    device: str = "auto"
    # Where packs' demo assets (``demo:NAME``) are built on first use, so that every demo
    # workflow runs offline from any folder.
    demo_dir: Path = field(default_factory=lambda: Path(os.environ.get("NODEGRAPH_DEMO_DIR") or
                                                         Path.home() / ".cache" / "nodegraph" / "demo"))
    # The catalogue's demo assets, by name (``use_catalogue``).
    demos: dict[str, DemoAsset] = field(default_factory=dict)
    # Disk cache folder of this session (None with --no-cache); packs may keep their own
    # caches beneath it (e.g. LLM responses under cache_dir / "llm").
    cache_dir: Path | None = None
    # Where sha256 digests of input files persist for provenance (None: per session only);
    # kept even with --no-cache: a digest is a fact about a file, keyed by its inode and mtime.
    digest_dir: Path | None = None
    # Fast mode (--compile): packs may compile their models (torch.compile) and keep them warm.
    compile: bool = field(default_factory=fast_mode_from_env)
    # Output files written behind the job (a server computing on a GPU): nodes return before
    # their files are on disk and the job's ``done`` waits for them (``RunContext.write_files``).
    write_behind: bool = False
    # Pixel budgets of image and clip inputs, checked from file headers (media_limits.py).
    media_limits: MediaLimits = field(default_factory=MediaLimits.from_env)
    services: dict[str, Any] = field(default_factory=dict)
    # Texts outputs may embed for another program, by name: name -> provider(ctx) -> {key: text}.
    # Registered by the layers above the engine (ComfyUI's prompt/workflow: nodegraph.comfyui.install).
    embedders: dict[str, Callable[[Any], dict[str, str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def output_dir(self) -> Path:
        return self.files.output_dir

    def use_catalogue(self, registry: Any) -> None:
        """Learn the catalogue's file kinds (where names of each kind live) and demo assets."""
        self.files.locations.update({k.name: k.location for k in registry.file_kinds.values()})
        self.demos.update(registry.demos)

    def demo(self, value: Any) -> DemoAsset | None:
        """The demo asset ``value`` (``demo:NAME``) names, or None."""
        name = demo_name(value)
        return self.demos.get(name) if name is not None else None

    def demo_path(self, value: Any) -> Path | None:
        """The files of demo ``value`` when already built, else None (provenance; never builds)."""
        asset = self.demo(value)
        return asset.locate(Path(self.demo_dir)) if asset is not None else None

    def materialise(self, value: str) -> Path:
        """The files of demo ``value``, built under ``demo_dir`` on first use."""
        asset = self.demo(value)
        if asset is None:
            known = ", ".join(sorted(d.value for d in self.demos.values())) or "none"
            raise KeyError(f"unknown demo {value!r} (known: {known})")
        return asset.build(Path(self.demo_dir))
    def service(self, name: str, factory: Callable[[], T]) -> T:
        with self._lock:
            if name not in self.services:
                self.services[name] = factory()
            return self.services[name]


# The phases of the node running in this thread (RunContext.recording, or an executor's own
# set/reset around ``run``); None outside a node.
RUNNING_PHASES: ContextVar[dict[str, float] | None] = ContextVar("nodegraph_running_phases", default=None)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Count the block's wall time under ``name`` in the running node's ``executed`` event
    (``phases``: where its ``seconds`` went, e.g. importing libraries or loading weights).
    Code shared by many nodes (a model manager) calls this without a RunContext at hand; outside
    a node the block just runs. Phases should not nest: each is a part of the node's time."""
    phases = RUNNING_PHASES.get()
    if phases is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - started


def imported(name: str) -> Any:
    """Module ``name``, imported as a node's run needs it and timed as its "imports" phase: the
    first import of torch in a process is a second or more, later ones cost nothing. A module
    already imported is no phase at all: timing a dictionary lookup would report scheduling noise
    (over a millisecond on a loaded machine) as importing."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    with phase("imports"):
        return importlib.import_module(name)


PHASE_FLOOR = 0.001  # seconds: a phase that took less (an import already done) is not reported


def phase_fields(phases: dict[str, float]) -> dict[str, Any]:
    """The ``phases`` field of an ``executed`` event: those of a millisecond or more, rounded;
    absent when there are none."""
    kept = {name: round(seconds, 6) for name, seconds in phases.items() if seconds >= PHASE_FLOOR}
    return {"phases": kept} if kept else {}


class _Recording:
    """``RunContext.recording``: a class, not a ``@contextmanager`` generator, because it wraps
    every node's run (the generator's machinery cost ~1 µs per node on a 2-core CPU)."""

    __slots__ = ("phases", "token")

    def __init__(self, phases: dict[str, float]) -> None:
        self.phases = phases

    def __enter__(self) -> None:
        self.token = RUNNING_PHASES.set(self.phases)

    def __exit__(self, *exc: object) -> None:
        RUNNING_PHASES.reset(self.token)


class RunContext:
    """Handed to ``Node.run``: one per node execution."""

    __slots__ = ("node_id", "node_type", "env", "interrupt", "job_id", "_emit", "files_written",
                 "ui", "cache_key", "graph", "pending_writes", "phases")

    def __init__(self, node_id: str, node_type: str, env: Environment, interrupt: InterruptToken,
                 emit: Sink = null_sink, graph: Any = None, job_id: str | None = None,
                 cache_key: str | None = None):
        self.node_id = node_id
        self.node_type = node_type
        self.env = env
        self.interrupt = interrupt
        self.graph = graph  # the validated Graph of this job
        self.job_id = job_id
        self._emit = emit
        self.files_written: list[str] = []
        self.pending_writes: list[Future] = []  # write_files under write_behind: the executor waits
        self.ui: dict[str, Any] = {}
        self.cache_key = cache_key
        self.phases: dict[str, float] = {}  # filled by ``phase`` blocks while ``recording``

    def recording(self) -> "_Recording":
        """``phase`` blocks run inside this one count towards this node (executors wrap ``run``)."""
        return _Recording(self.phases)

    # --- progress and interrupts -------------------------------------------------------
    def progress(self, value: float, maximum: float) -> None:
        """Report progress; also an interrupt point for long loops."""
        self._emit({"event": "progress", "node": self.node_id, "value": value, "max": maximum,
                    **({"job": self.job_id} if self.job_id else {})})
        self.interrupt.check()

    def check_interrupt(self) -> None:
        self.interrupt.check()

    def emit(self, event: dict) -> None:
        """Extra events (e.g. preview images from the server's point of view)."""
        self._emit(event)

    # --- outputs -----------------------------------------------------------------------
    def record_file(self, path: Path | str) -> None:
        """An output file this node wrote: reported in ``executed`` and ``done``."""
        self.files_written.append(str(path))

    def write_files(self, files: list[tuple[Path, Callable[[Path], None]]], record: bool = True) -> None:
        """Write output files and record them: ``write(tmp)`` writes one to a temporary path that
        replaces its real name once complete. Under ``env.write_behind`` (a GPU server) this
        returns at once and the job's ``done`` waits for the files; otherwise it returns when
        they are written (several at once), raising the first write's error. ``record=False``
        when the node records something else instead (the folder that holds the files)."""
        futures = [self._writer().submit(path, write) for path, write in files]
        if record:
            for path, _ in files:
                self.record_file(path)
        if self.env.write_behind:
            self.pending_writes.extend(futures)
            return
        for future in futures:
            future.result()

    def embedded_texts(self, name: str) -> dict[str, str]:
        """What the session's ``name`` embedder (``Environment.embedders``) gives this job's
        outputs to embed, e.g. ``"comfyui"``: ComfyUI's ``prompt`` and ``workflow``; {} when none
        is registered (a session that never installed it) or outside a job."""
        provider = self.env.embedders.get(name)
        return provider(self) if provider is not None and self.graph is not None else {}

    def output_exists(self, path: Path) -> bool:
        """``path`` is on disk or an earlier job's write of it is still under way (write-behind):
        what a node that refuses to replace a file must check."""
        return Path(path).exists() or self._writer().pending(path)

    def _writer(self):
        from ..files.writer import OutputWriter
        return self.env.service("output_writer", OutputWriter)

    @property
    def workflow(self) -> dict | None:
        """The job's workflow file as JSON (for outputs that embed it)."""
        return self.graph.own_graph(self.node_id).workflow.to_json() if self.graph is not None else None

    def provenance(self) -> dict:
        """Workflow-independent facts for outputs: node versions and input-file hashes."""
        from ..files.provenance import build_provenance
        return build_provenance(self.graph.own_graph(self.node_id) if self.graph is not None else None, self.env)

    @property
    def device(self) -> str:
        return self.env.device

    def service(self, name: str, factory: Callable[[], T]) -> T:
        return self.env.service(name, factory)
