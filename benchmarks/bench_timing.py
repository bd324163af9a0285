"""What the benchmarks share: this checkout on the path, children's environments, the model-size
options of the process benchmarks, and the timing helpers of the A/B ones.

Benchmarks run as scripts (``python benchmarks/x.py``), so Python puts this folder on the path
and they import this module by its plain name. Importing it puts the checkout first on the path
(a benchmark measures this checkout's code) and keeps the hub offline unless told otherwise.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def checkout_env(extra: dict | None = None) -> dict:
    """The environment of a benchmark's child process: this one, offline, this checkout first
    on PYTHONPATH, plus ``extra``."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", **(extra or {}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def add_model_args(parser: argparse.ArgumentParser, rounds: str) -> None:
    """The process benchmarks' model options: --full, --device, --size, --rounds (``rounds``:
    what one round is), --workdir."""
    parser.add_argument("--full", action="store_true", help="real SDXL-size architecture, random weights")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--size", type=int, default=None, help="image size (default 256 tiny, 1024 full)")
    parser.add_argument("--rounds", type=int, default=1, help=f"{rounds} (the median is printed)")
    parser.add_argument("--workdir", default=None, help="where --full keeps its random model")


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
