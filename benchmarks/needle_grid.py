"""How long a 10 x 10 needle grid takes against a loopback OpenAI-protocol server.

The server is the tests' pattern model (tests/needle/needle_helpers.py), so the figures are the
pack's own cost: building 100 contexts, checking windows, 100 HTTP round trips through the
cached, bounded-concurrency call path, scoring, the heatmap and the report. Printed side by
side: a fresh grid at concurrency 1 and 8, and the same grid answered from the cache.

    python benchmarks/needle_grid.py            # lengths 1K..200K tokens
    python benchmarks/needle_grid.py --small    # lengths 1K..10K tokens
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "needle"))
from needle_helpers import PatternServer, Runner, grid_workflow  # noqa: E402

FULL = [1000, 2000, 4000, 8000, 16000, 32000, 64000, 100000, 150000, 200000]
SMALL = [1000 * n for n in range(1, 11)]
DEPTHS = [0, 11, 22, 33, 44, 56, 67, 78, 89, 100]


def timed(runner: Runner, workflow: dict) -> float:
    started = time.perf_counter()
    result, _ = runner.run(workflow)
    if not result.ok:
        raise SystemExit(f"grid failed: {result.error}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="lengths 1K..10K instead of 1K..200K")
    parser.add_argument("--repeats", type=int, default=3, help="median of this many runs (the machine may be shared)")
    args = parser.parse_args()
    lengths = SMALL if args.small else FULL
    server = PatternServer(window=50_000, short=4000)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:  # imports (httpx, matplotlib) are not the grid's cost
            timed(Runner(Path(tmp), Path(tmp) / "demo"), grid_workflow(server.base_url, [500], [0]))
        for concurrency in (1, 8):
            fresh, cached = [], []
            for _ in range(args.repeats):
                with tempfile.TemporaryDirectory() as tmp:  # a fresh response cache each time
                    runner = Runner(Path(tmp), Path(tmp) / "demo")
                    workflow = grid_workflow(server.base_url, lengths, DEPTHS, llm={"concurrency": concurrency})
                    server.reset()
                    fresh.append(timed(runner, workflow))
                    asked = server.requests
                    cached.append(timed(runner, workflow))
            rows.append((concurrency, statistics.median(fresh), asked, statistics.median(cached),
                         server.requests - asked))
    finally:
        server.close()
    print(f"10 x 10 needle grid, lengths {lengths[0]}..{lengths[-1]} tokens (approximate counts), loopback server; "
          f"median of {args.repeats}")
    print(f"{'concurrency':>11} {'fresh s':>8} {'ms/cell':>8} {'requests':>8} {'cached s':>9} {'requests':>8} {'fresh/cached':>12}")
    for concurrency, fresh, asked, cached, again in rows:
        print(f"{concurrency:>11} {fresh:8.2f} {fresh * 10:8.1f} {asked:>8} {cached:9.2f} {again:>8} {fresh / cached:12.1f}")


if __name__ == "__main__":
    main()
