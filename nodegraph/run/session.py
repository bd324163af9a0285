"""The one way to run a job: ``Session`` -> ``Job`` -> ``RunResult``.

A session ties one catalogue (registry), one cache, one environment and one executor together
for many runs. The CLI opens one per invocation, the server keeps one for its life (models stay
warm), and an embedding program keeps one as long as it likes::

    with Session.open(output_dir="out") as session:
        job = session.prepare("job.json", sink=print)   # validate + plan; WorkflowInvalid
        result = session.execute(job)                   # events -> job.sink; job.result too
        # elsewhere (another thread, a signal handler): job.interrupt.set()

``session.run(workflow, sink=...)`` does both steps. The executor is pluggable
(``Session(executor=...)``): anything with ``execute(job) -> RunResult`` (and optionally
``close()``) runs the plan — in this process (``InProcessExecutor``, the default) or elsewhere.
The data path is one straight line: load -> validate -> plan -> execute -> events.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from ..api.errors import WorkflowInvalid
from ..api.plugins import load_registry
from ..api.registry import Registry
from ..files.roots import FileRoots
from ..graph.bypass import apply_modes, merge_problems
from ..graph.demo_models import use_demo_models
from ..graph.overrides import apply_overrides
from ..graph.plan import make_plan
from ..graph.sweep import plan_sweep
from ..graph.validate import build_graph
from ..graph.workflow import Workflow, load_workflow, parse_workflow
from .cache import DEFAULT_DISK_BYTES, DEFAULT_MEMORY_BYTES, Cache
from .context import Environment, InterruptToken
from .events import Sink
from .executor import Executor, InProcessExecutor, Job, RunResult
from .gctune import collector_paused
from .sweep import SweepTracker
from .sweep_sheet import frames_from_readers


# (what prepare was given, the session's catalogue) -> the Workflow it names; raises WorkflowInvalid
WorkflowLoader = Callable[["Workflow | dict | str | Path", Registry], Workflow]


class Session:
    def __init__(self, registry: Registry | None = None, env: Environment | None = None,
                 cache: Cache | None = None, executor: Executor | None = None,
                 plugin_dirs: tuple[str | Path, ...] = (), demo_models: bool = False,
                 loader: WorkflowLoader | None = None):
        self.registry = registry if registry is not None else load_registry(plugin_dirs)
        self.env = env if env is not None else Environment()
        self.env.use_catalogue(self.registry)
        self.cache = cache if cache is not None else Cache()
        self.executor = executor if executor is not None else InProcessExecutor()
        # Every job runs on the packs' demo models instead of the model files it names (--demo-models).
        self.demo_models = demo_models
        # Reads what ``prepare`` is given when it is not a parsed Workflow; None: nodegraph's own
        # files only. The layers above install ComfyUI's importer here (nodegraph.comfyui.install).
        self.loader = loader

    @classmethod
    def open(cls, *, input_dir: str | Path = "input", models_dir: str | Path = "models",
             output_dir: str | Path = "output", cache_dir: str | Path | None = None,
             cache_enabled: bool = True, memory_bytes: int = DEFAULT_MEMORY_BYTES,
             disk_bytes: int = DEFAULT_DISK_BYTES,
             device: str = "auto", strict_paths: bool = False, plugin_dirs: tuple[str | Path, ...] = (),
             use_entry_points: bool = True, executor: Executor | None = None,
             on_plugin_failure: Callable[[str, str], None] | None = None,
             pack_folders: Mapping[str, tuple[str | Path, ...]] | None = None,
             demo_models: bool = False, loader: WorkflowLoader | None = None) -> "Session":
        """A session from plain settings (what ``nodegraph run`` and ``nodegraph serve`` take).

        ``cache_dir`` is the disk tier (None: memory only); ``strict_paths`` confines file inputs
        to their folders (the server's mode); ``on_plugin_failure(plugin, message)`` hears about
        plugins that failed to load (they are skipped either way); ``pack_folders`` are folders of
        packs in another format, by format (``{"comfy": [custom_nodes folder]}``, see
        ``api.plugins.load_registry``); ``demo_models`` runs every job on the demo models
        (``nodegraph.graph.demo_models``); ``loader`` reads workflow files (see ``load``).
        """
        roots = FileRoots(input_dir=Path(input_dir), models_dir=Path(models_dir), output_dir=Path(output_dir),
                          strict=strict_paths)
        registry = load_registry(plugin_dirs, use_entry_points=use_entry_points, pack_folders=pack_folders,
                                 files=roots, device=device)
        for failure in registry.failures:
            if on_plugin_failure is not None:
                on_plugin_failure(failure.plugin, failure.message)
        disk_dir = Path(cache_dir) if cache_dir is not None and cache_enabled else None
        # Provenance digests persist beside the cache even with the cache off: facts about files.
        digest_dir = Path(cache_dir) / "digests" if cache_dir is not None else None
        env = Environment(files=roots, device=device, cache_dir=disk_dir, digest_dir=digest_dir)
        cache = Cache(memory_bytes=memory_bytes, enabled=cache_enabled, disk_dir=disk_dir, disk_bytes=disk_bytes)
        return cls(registry, env, cache, executor, demo_models=demo_models, loader=loader)

    def prepare(self, workflow: Workflow | dict | str | Path, overrides: list[str] = (), *,
                sink: Sink | None = None, interrupt: InterruptToken | None = None,
                job_id: str | None = None) -> Job:
        """Validate and plan; raises WorkflowInvalid (every problem) or UsageError.

        The returned job runs with ``execute``; ``sink`` gets its events, ``interrupt`` stops it.
        """
        workflow = self.load(workflow)
        if overrides:
            workflow = apply_overrides(workflow, overrides, self.registry)
        if self.demo_models:
            workflow = use_demo_models(workflow, self.registry, self.env)
        if workflow.sweep is not None:
            return self._prepare_sweep(workflow, sink, interrupt, job_id)
        runnable, mode_problems = apply_modes(workflow, self.registry)
        with collector_paused(graph_nodes=len(runnable.nodes)):  # the job's graph and plan
            try:
                graph = build_graph(runnable, self.registry, self.env)
            except WorkflowInvalid as exc:
                raise WorkflowInvalid(merge_problems(mode_problems, exc.problems)) from None
            if mode_problems:
                raise WorkflowInvalid(mode_problems)
            graph.workflow = workflow  # what outputs embed: the file as the user has it, modes included
            plan = make_plan(graph)
        job = Job(graph, plan, self.env, self.cache, self.registry.types)
        if sink is not None:
            job.sink = sink
        if interrupt is not None:
            job.interrupt = interrupt
        if job_id is not None:
            job.id = job_id
        return job

    def _prepare_sweep(self, workflow: Workflow, sink: Sink | None, interrupt: InterruptToken | None,
                       job_id: str | None) -> Job:
        """One job for every cell of the sweep: the cells' graphs combined (graph/sweep.py)."""
        with collector_paused(graph_nodes=len(workflow.nodes)):
            sweep = plan_sweep(workflow, self.registry, self.env)
        job = Job(sweep.graph, sweep.plan, self.env, self.cache, self.registry.types)
        job.sweep = sweep
        job.sink = SweepTracker(sweep, sink if sink is not None else job.sink, self.env.output_dir,
                                frames_from_readers(self.registry.workflow_readers))
        if interrupt is not None:
            job.interrupt = interrupt
        if job_id is not None:
            job.id = job_id
        return job

    def load(self, workflow: Workflow | dict | str | Path) -> Workflow:
        """A workflow from a parsed one, its JSON, or a file: nodegraph's own (JSON, or a PNG/MP4
        through the packs' readers), or whatever the session's ``loader`` reads (ComfyUI's files
        where the CLI or the server installed its importer: docs/comfyui.md)."""
        if isinstance(workflow, Workflow):
            return workflow
        if self.loader is not None:
            return self.loader(workflow, self.registry)
        if isinstance(workflow, dict):
            return parse_workflow(workflow)
        return load_workflow(workflow, self.registry.workflow_readers)

    def execute(self, job: Job) -> RunResult:
        """Run a prepared job on this session's executor; the result is also ``job.result``."""
        job.result = self.executor.execute(job)
        return job.result

    def run(self, workflow: Workflow | dict | str | Path, sink: Sink | None = None,
            interrupt: InterruptToken | None = None, overrides: list[str] = (),
            job_id: str | None = None) -> RunResult:
        """``prepare`` then ``execute``."""
        return self.execute(self.prepare(workflow, overrides, sink=sink, interrupt=interrupt, job_id=job_id))

    def close(self) -> None:
        """Release long-lived services (warm models, backends) and the executor's resources."""
        for service in self.env.services.values():
            close = getattr(service, "close", None)
            if callable(close):
                close()
        close = getattr(self.executor, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
