"""Timing helpers the A/B benchmarks share (lcm_overhead.py, svd_overhead.py, fast_mode.py).

Benchmarks run as scripts (``python benchmarks/x.py``), so Python puts this folder on the path
and they import this module by its plain name.
"""
from __future__ import annotations

import os
import statistics
import time
from functools import partial
from pathlib import Path
from typing import Callable


def sync(device: str) -> None:
    """Wait for queued GPU work: CUDA calls return before the kernels have run."""
    if device == "cuda":
        import torch
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: str) -> float:
    """Seconds ``fn`` takes, queued GPU work included."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def alternated(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """The median of each variant's seconds over ``rounds`` rounds, run in turn, the order
    reversed every other round so that drift (clocks, heat, caches) weighs on all of them alike.

    Each variant measures itself and returns seconds, so it can leave untimed work (a LoRA
    switch, say) out of its figure.
    """
    names = list(variants)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in (names if i % 2 == 0 else names[::-1]):
            seconds[name].append(variants[name]())
    return {name: statistics.median(values) for name, values in seconds.items()}


def demo_dir() -> Path:
    """Where the demo models are built: the CLI's folder, so a benchmark reuses what a run built."""
    return Path(os.environ.get("NODEGRAPH_DEMO_DIR") or Path.home() / ".cache/nodegraph/demo")


def engine_and_direct(session, workflow, direct: Callable[[], object], device: str, rounds: int) -> tuple[float, float]:
    """Median seconds of ``workflow`` run by the engine's ``session`` and of ``direct`` (the same
    library calls written by hand), each warmed up once (loads, first-call costs), then alternated."""
    def engine():
        result = session.run(workflow)
        assert result.ok, result.error

    engine(), direct()
    medians = alternated({"engine": partial(timed, engine, device), "direct": partial(timed, direct, device)}, rounds)
    return medians["engine"], medians["direct"]
