"""A session ties one catalogue, one cache and one environment together for many runs.

The CLI makes one per invocation; the server keeps one for its life so models stay warm.
The data path is one straight line: load -> validate -> plan -> execute -> events.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .cache import Cache
from .context import Environment, InterruptToken
from .events import Sink, null_sink
from .gctune import collector_paused
from .executor import Executor, InProcessExecutor, Job, RunResult
from .overrides import apply_overrides
from .plan import make_plan
from .plugins import load_registry
from .registry import Registry
from .validate import build_graph
from .workflow import Workflow, load_workflow, parse_workflow


class Session:
    def __init__(self, registry: Registry | None = None, env: Environment | None = None,
                 cache: Cache | None = None, executor: Executor | None = None,
                 plugin_dirs: tuple[str | Path, ...] = ()):
        self.registry = registry if registry is not None else load_registry(plugin_dirs)
        self.env = env if env is not None else Environment()
        self.cache = cache if cache is not None else Cache()
        self.executor = executor if executor is not None else InProcessExecutor()

    def prepare(self, workflow: Workflow | dict | str | Path, overrides: list[str] = ()) -> Job:
        """Validate and plan; raises WorkflowInvalid (every problem) or UsageError."""
        if isinstance(workflow, dict):
            workflow = parse_workflow(workflow)
        elif not isinstance(workflow, Workflow):
            workflow = load_workflow(workflow)
        if overrides:
            workflow = apply_overrides(workflow, overrides, self.registry)
        with collector_paused():
            graph = build_graph(workflow, self.registry, self.env)
            plan = make_plan(graph)
        return Job(graph, plan, self.env, self.cache, self.registry.types)

    def run(self, workflow: Workflow | dict | str | Path, sink: Sink = null_sink,
            interrupt: InterruptToken | None = None, overrides: list[str] = (),
            job_id: str | None = None) -> RunResult:
        job = self.prepare(workflow, overrides)
        job.sink = sink
        if interrupt is not None:
            job.interrupt = interrupt
        if job_id is not None:
            job.id = job_id
        return self.executor.execute(job)

    def close(self) -> None:
        for service in self.env.services.values():
            close = getattr(service, "close", None)
            if callable(close):
                close()


def run_workflow(workflow: Any, **kwargs: Any) -> RunResult:
    """One-shot helper: a fresh session with the installed plugins."""
    return Session().run(workflow, **kwargs)
