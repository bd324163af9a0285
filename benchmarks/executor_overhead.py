"""Executor overhead on graphs of trivial nodes: a 10,000-node chain and a 10,000-node wide graph.

Prints microseconds per node for validation, planning and execution (cold, then fully cached),
with the memory tier on and the disk tier off, so what is measured is the engine, not I/O.
Target (issue 2): at most 20 µs of executor overhead per node, flat from 100 to 10,000 nodes.

Times are the process's CPU time (``time.process_time``): on a shared machine the time spent
waiting for a core is left out, which wall time would add at random; each column is its best of
several runs.

Beside the engine, the floor for the same nodes: each node built from its inputs and its ``run``
called in a plain loop, values handed on by hand (``direct``), timed in the same measurement so
a loaded machine slows both. ``engine/direct`` is the ratio of plan+execute to that floor; it
holds across machines far better than microseconds do, so a regression shows in it (figures in
README.md).

``--against DIR`` measures another version of the engine in the same run: DIR is a source tree
of it (``git worktree add DIR COMMIT``, or ``git archive COMMIT nodegraph benchmarks | tar -x -C
DIR``); both are run in fresh processes, taking turns, and each column is its best over the
rounds, so a loaded machine slows both alike. The packs are the installed ones for both.

    python benchmarks/executor_overhead.py [--sizes 100,1000,10000] [--against DIR] [--rounds 3]
"""
from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from pathlib import Path

from nodegraph.api.node import instantiate
from nodegraph.api.plugins import load_registry
from nodegraph.graph.plan import make_plan
from nodegraph.graph.validate import build_graph
from nodegraph.graph.workflow import parse_workflow
from nodegraph.run.cache import Cache
from nodegraph.run.context import Environment, InterruptToken, RunContext
from nodegraph.run.executor import InProcessExecutor, Job
from nodegraph.run.gctune import collector_paused

from graphs import chain, wide  # this folder's: the same graphs in every benchmark


def as_prepared(nodes: int):
    """The collector as ``Session.prepare`` sets it while validating and planning ``nodes``."""
    try:
        return collector_paused(graph_nodes=nodes)
    except TypeError:  # an engine from before ``graph_nodes`` (``--against``)
        return collector_paused()


def measure(shape: str, n: int, registry) -> dict[str, float]:
    data = chain(n) if shape == "chain" else wide(n)
    env = Environment()
    cache = Cache(memory_bytes=1 << 30)
    t0 = time.process_time()
    with as_prepared(n):
        workflow = parse_workflow(data)
        graph = build_graph(workflow, registry, env)
        t1 = time.process_time()
        plan = make_plan(graph)
    t2 = time.process_time()
    executor = InProcessExecutor()
    result = executor.execute(Job(graph, plan, env, cache, registry.types))
    t3 = time.process_time()
    assert result.ok and len(result.executed) == n, result.status
    with as_prepared(n):
        replan = make_plan(graph)
    cached = executor.execute(Job(graph, replan, env, cache, registry.types))
    t4 = time.process_time()
    assert len(cached.cached) == n and not cached.executed
    direct_seconds = direct(graph, plan, env)
    # A trivial node's own work (the run method) is part of "execution" here; it is ~1 µs.
    us = lambda seconds: seconds / n * 1e6
    return {"validate": us(t1 - t0), "plan": us(t2 - t1), "execute": us(t3 - t2),
            "plan+execute": us(t3 - t1), "cached rerun (plan+execute)": us(t4 - t3),
            "direct": us(direct_seconds)}


def direct(graph, plan, env) -> float:
    """Seconds to run the planned nodes without the engine: each built from its literals and its
    upstream values (the cheapest construction, ``instantiate``) and its ``run`` called, in plan
    order, in a plain loop. One context serves every node (trivial nodes only set ``ui``)."""
    steps = [(node_id, graph.nodes[node_id].cls, graph.nodes[node_id].literals,
              [(name, link.node, link.output) for name, link in graph.nodes[node_id].links.items()])
             for node_id in plan.order]
    ctx = RunContext("direct", "direct", env, InterruptToken())
    values: dict[str, dict] = {}
    started = time.process_time()
    for node_id, cls, literals, links in steps:
        inputs = dict(literals)
        for name, source, output in links:
            inputs[name] = values[source][output]
        values[node_id] = instantiate(cls, inputs).run(ctx)
    return time.process_time() - started


COLUMNS = ("validate", "plan", "execute", "plan+execute", "cached", "direct", "engine/direct")


def table_rows(output: str) -> dict[tuple[str, int], list[float]]:
    """The rows of this script's table (as any version of it prints them): (graph, nodes) -> columns."""
    rows = {}
    for line in output.splitlines():
        parts = line.replace("|", " ").split()
        if len(parts) == 2 + len(COLUMNS) and parts[0] in ("chain", "wide") and parts[1].isdigit():
            rows[(parts[0], int(parts[1]))] = [float(v) for v in parts[2:]]
    return rows


def compare(sizes: str, against: Path, rounds: int) -> None:
    """This tree's engine and the one in ``against``, measured in turns in fresh processes."""
    here = Path(__file__).resolve().parents[1]
    best: dict[str, dict] = {"this": {}, "against": {}}
    for _ in range(rounds):
        for label, tree in (("against", against), ("this", here)):
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
            out = subprocess.run([sys.executable, str(tree / "benchmarks" / "executor_overhead.py"), "--sizes", sizes],
                                 capture_output=True, text=True, env=env, check=True).stdout
            for row, values in table_rows(out).items():
                kept = best[label].setdefault(row, values)
                best[label][row] = [min(a, b) for a, b in zip(kept, values)]
    print(f"this tree against {against}, best of {rounds} rounds each, taking turns (µs/node, CPU time)")
    print(f"{'graph':>7} {'nodes':>6} | {'plan+exec':>9} {'against':>8} {'ratio':>6} | {'engine/direct':>13} {'against':>8}")
    for row in sorted(best["this"], key=lambda r: (r[0], r[1])):
        mine, theirs = best["this"][row], best["against"].get(row)
        if theirs is None:
            continue
        pe, ed = COLUMNS.index("plan+execute"), COLUMNS.index("engine/direct")
        print(f"{row[0]:>7} {row[1]:>6} | {mine[pe]:9.1f} {theirs[pe]:8.1f} {mine[pe] / theirs[pe]:6.2f} | "
              f"{mine[ed]:13.1f} {theirs[ed]:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--against", type=Path, metavar="DIR", help="a source tree of another version to measure beside this one")
    parser.add_argument("--rounds", type=int, default=3, help="turns each with --against")
    args = parser.parse_args()
    if args.against is not None:
        compare(args.sizes, args.against.resolve(), max(1, args.rounds))
        return
    registry = load_registry()
    gc.collect()  # the catalogue in the oldest generation, as in a process that has been running a while
    print(f"{'graph':>7} {'nodes':>6} | µs/node: {'validate':>8} {'plan':>6} {'execute':>8} "
          f"{'plan+exec':>9} {'cached':>7} {'direct':>7} | {'engine/direct':>13}")
    for shape in ("chain", "wide"):
        for n in (int(s) for s in args.sizes.split(",")):
            runs = [measure(shape, n, registry) for _ in range(min(20, max(5, 50_000 // n)))]
            best = {column: min(r[column] for r in runs) for column in runs[0]}  # each at its quietest moment
            print(f"{shape:>7} {n:>6} | {'':8} {best['validate']:8.1f} {best['plan']:6.1f} {best['execute']:8.1f} "
                  f"{best['plan+execute']:9.1f} {best['cached rerun (plan+execute)']:7.1f} {best['direct']:7.1f} | "
                  f"{best['plan+execute'] / best['direct']:13.1f}")
    print("target: plan+execute <= 20 µs/node; engine/direct: plan+execute over the plain loop's time, same run")


if __name__ == "__main__":
    main()
