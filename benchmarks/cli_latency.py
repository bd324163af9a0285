"""How fast the light commands answer: `nodegraph validate` of the main workflow and of a
1,000-node one, `nodegraph nodes`, beside a bare `python -c pass` (the interpreter's own start).

Each is the real command in a fresh process (median of 5), so Python start-up, plugin discovery
and the catalogue are all included. Printed: wall time, and the process's CPU time (user + sys),
which a loaded machine changes far less than wall time (waiting for a core is not counted), and
each as a multiple of `python -c pass`. The core must not import torch for these.
Target (issue 30): under 0.5 s for `validate` of the main workflow and for `nodes` on an idle
2-core machine. `--cold` also times them with the stored catalogue removed first (the first
command after an install or an edit of a pack).

Also what a user pays per node of a big workflow through `nodegraph run --no-cache` (parsing,
validation, planning, execution, a progress line per node): (time of a 10,000-node chain of
trivial nodes − time of a 100-node one) / 9,900, so start-up cancels out. Per-node figure of
issue 30: 91 µs before its work, against 50 in the engine of bb1948c.

`--instructions` also counts the CPU instructions of those two runs under valgrind (callgrind),
which a shared machine's load does not change at all: on a 2-core VM whose speed drifts by
±30% from minute to minute, the one way to see a 10% change.

`--against DIR` times another version beside this one, taking turns command by command: DIR is
a source tree of it (`git worktree add DIR COMMIT`, or `git archive COMMIT nodegraph benchmarks
| tar -x -C DIR`), put first on PYTHONPATH; the installed packs serve both. Each version keeps
its stored catalogue in its own cache folder (storing one removes any other).

    python benchmarks/cli_latency.py [--cold] [--instructions] [--against DIR]
"""
from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from graphs import chain  # this folder's: the executor benchmark's graphs


MAIN_JOB = Path(__file__).resolve().parents[1] / "workflows" / "lcm_lora_sdxl.json"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command``, from the cache folder (``python -m``
    puts the working folder first on the path: not a checkout's, so PYTHONPATH picks the version)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=env["NODEGRAPH_CACHE_DIR"])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert out.returncode == 0, out.stderr
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def instructions(command: list[str], env: dict[str, str]) -> int:
    """User-space instructions ``command`` executes, counted by valgrind's callgrind."""
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                         capture_output=True, text=True, env=env, cwd=env["NODEGRAPH_CACHE_DIR"])
    assert out.returncode == 0, out.stderr[-2000:]
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))


def environment(tree: Path, cache_dir: Path) -> dict[str, str]:
    cache_dir.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "NODEGRAPH_CACHE_DIR": str(cache_dir),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}


def main() -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time them without a stored catalogue")
    parser.add_argument("--against", type=Path, metavar="DIR", help="a source tree of another version to time beside this one")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--instructions", action="store_true",
                        help="also count the run rows' instructions under valgrind (slow: minutes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "w.json"
        path.write_text(json.dumps(chain(1000)))
        small, big = tmp / "chain100.json", tmp / "chain10000.json"
        small.write_text(json.dumps(chain(100)))
        big.write_text(json.dumps(chain(10_000)))
        out = ["--no-cache", "--out", str(tmp / "out")]
        versions = {"this": environment(Path(__file__).resolve().parents[1], tmp / "cache-this")}
        if args.against is not None:
            versions["against"] = environment(args.against.resolve(), tmp / "cache-against")

        def forget(env) -> None:
            import shutil
            shutil.rmtree(Path(env["NODEGRAPH_CACHE_DIR"]) / "catalogue", ignore_errors=True)
        cli = [sys.executable, "-m", "nodegraph.cli"]
        rows = [("python -c pass (the floor)", [sys.executable, "-c", "pass"], None),
                ("nodegraph --help", [*cli, "--help"], None),
                ("validate the main workflow", [*cli, "validate", str(MAIN_JOB)], None),
                ("validate 1,000-node workflow", [*cli, "validate", str(path)], None),
                ("nodes (whole catalogue)", [*cli, "nodes"], None),
                ("run 100-node chain --no-cache", [*cli, "run", str(small), *out], None),
                ("run 10,000-node chain --no-cache", [*cli, "run", str(big), *out], None)]
        if args.cold:
            rows += [("validate main, no stored catalogue", [*cli, "validate", str(MAIN_JOB)], forget),
                     ("nodes, no stored catalogue", [*cli, "nodes"], forget)]
        for env in versions.values():  # each version's stored catalogue, as after its first command
            subprocess.run([*cli, "nodes"], capture_output=True, env=env, cwd=env["NODEGRAPH_CACHE_DIR"], check=True)
        results: dict[str, dict[str, tuple[float, float]]] = {}
        for label, command, before in rows:
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
            for _ in range(args.repeats):
                for name, env in versions.items():  # taking turns: a load change hits both
                    if before is not None:
                        before(env)
                    runs[name].append(timed(command, env))
            results[label] = {name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
                              for name, r in runs.items()}
        counted: dict[str, dict[int, int]] = {}
        if args.instructions:
            for name, env in versions.items():
                counted[name] = {n: instructions([*cli, "run", str(path), *out], env)
                                 for n, path in ((100, small), (10_000, big))}
    floor = results["python -c pass (the floor)"]["this"]
    header = f"{'':36} {'wall ms':>8} {'CPU ms':>7} {'CPU / python':>12}"
    if args.against is not None:
        header += f" | against: {'wall ms':>8} {'CPU ms':>7} {'CPU / python':>12}"
    print(header)
    for label, by_version in results.items():
        wall, cpu = by_version["this"]
        line = f"{label:<36} {wall * 1000:8.0f} {cpu * 1000:7.0f} {cpu / floor[1]:12.1f}"
        if "against" in by_version:
            wall, cpu = by_version["against"]
            line += f" | {'':9}{wall * 1000:8.0f} {cpu * 1000:7.0f} {cpu / floor[1]:12.1f}"
        print(line)
    print()
    for name, label in (("this", "this tree"), ("against", "against")):
        if name not in results["python -c pass (the floor)"]:
            continue
        (wall_small, cpu_small), (wall_big, cpu_big) = (results["run 100-node chain --no-cache"][name],
                                                        results["run 10,000-node chain --no-cache"][name])
        print(f"{label}: nodegraph run, per node ((10,000-node chain - 100-node chain) / 9,900): "
              f"{(wall_big - wall_small) / 9900 * 1e6:.1f} µs wall, {(cpu_big - cpu_small) / 9900 * 1e6:.1f} µs CPU")
        if name in counted:
            print(f"{label}: nodegraph run, instructions per node: {(counted[name][10_000] - counted[name][100]) / 9900:,.0f}")
    print("target: validate of the main workflow and nodes < 500 ms wall on an idle 2-core machine")


if __name__ == "__main__":
    main()
