"""Start-up warm-up (``nodegraph serve --warmup FILE``): workflows run once as the server starts,
so the first client's job does not wait for loading (and, in fast mode, compiling) its models.

A warm-up runs through the server's own session services and executor (the warm models it
leaves are the ones jobs use) with the cache off, so every node executes even when an earlier
server stored its outputs, and with its outputs written into a temporary folder that is removed
afterwards: it leaves warm models behind, not files or cache entries.
"""
from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from pathlib import Path

from ..run.cache import Cache
from ..run.context import InterruptToken
from ..run.events import CollectingSink
from ..run.session import Session

log = logging.getLogger("nodegraph.server")


def warm_session(session: Session, output_dir: Path) -> Session:
    """``session``'s catalogue, executor and services (the model managers), with the cache off
    and outputs into ``output_dir``."""
    env = session.env
    files = dataclasses.replace(env.files, output_dir=Path(output_dir))
    # replace() keeps the services dict itself (not a copy): models warmed here stay for jobs.
    warm_env = dataclasses.replace(env, files=files, write_behind=False)
    return Session(session.registry, warm_env, Cache(enabled=False), session.executor,
                   demo_models=session.demo_models, loader=session.loader)


def run_warmups(session: Session, workflows: tuple[Path, ...], interrupt: InterruptToken) -> list[dict]:
    """Run each workflow once; a summary per workflow (also logged). A failure is logged and the
    server goes on: its jobs load what they need themselves, as without a warm-up."""
    summaries = []
    for workflow in workflows:
        if interrupt.is_set:
            break
        sink = CollectingSink()
        start = time.perf_counter()
        log.info("warm-up %s: running", workflow)
        with tempfile.TemporaryDirectory(prefix="nodegraph-warmup-") as out:
            try:
                result = warm_session(session, Path(out)).run(workflow, sink=sink, interrupt=interrupt)
                status, error = result.status, (result.error or {}).get("message")
            except Exception as exc:  # noqa: BLE001 - a warm-up never stops the server
                status, error = "failed", f"{type(exc).__name__}: {exc}"
        phases = {e["node"]: e["phases"] for e in sink.of("executed") if e.get("phases")}
        summary = {"workflow": str(workflow), "status": status, "seconds": round(time.perf_counter() - start, 3),
                   "executed": len(sink.of("executed")), "phases": phases}
        if error:
            summary["error"] = error
            log.warning("warm-up %s: %s after %.1f s: %s", workflow, status, summary["seconds"], error)
        else:
            log.info("warm-up %s: %s, %d nodes in %.1f s%s", workflow, status, summary["executed"],
                     summary["seconds"], _phase_line(phases))
        summaries.append(summary)
    return summaries


def _phase_line(phases: dict) -> str:
    """`` (prompt: load 1.8 s; sampler: compile 80.1 s)``: where the warm-up's time went."""
    parts = [f"{node}: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in by_node.items())
             for node, by_node in phases.items()]
    return f" ({'; '.join(parts)})" if parts else ""
