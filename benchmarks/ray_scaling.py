"""Local executor vs Ray on 1 and on 2 nodes: throughput ratios and per-node overhead.

Workloads (each run in one session per configuration; the driver's memory cache is on):
- variants: 8 main-job variants (LCM-LoRA SDXL demo model, seeds differ) as one workflow of 8
  independent branches; model, LoRA merge and prompt have equal keys, so they run once. Timed
  cold (worker start and model load included) and warm (8 new seeds, models loaded).
- wide: 32 independent nodes that each wait 0.2 s (I/O-like; the simulated nodes share this
  machine's cores, so CPU-bound work cannot scale here, only on real machines); cold (Ray starts
  its task workers) and warm.
- overhead: 200 independent trivial nodes and a chain of 100 dependent ones: ms per node.

The 1- and 2-node clusters are ``ray.cluster_utils.Cluster`` processes on this machine, each
node with ``--cpus-per-node`` CPUs (and, with ``--device cuda``, one GPU each: the same card).
``--address`` benchmarks an existing cluster instead of the simulated ones.

    python benchmarks/ray_scaling.py [--size 64] [--variants 8] [--device cpu|cuda] [--address ADDR]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
MAIN_JOB = REPO / "workflows" / "lcm_lora_sdxl.json"
PLUGIN_DIR = REPO / "tests" / "ray" / "plugin"  # RayWork: a node that waits


def variants(count: int, size: int, seed0: int) -> dict:
    base = json.loads(MAIN_JOB.read_text())["nodes"]
    nodes: dict = {}
    for v in range(count):
        for node_id, entry in base.items():
            inputs = {k: ({**val, "from": f"{val['from']}{v}"} if isinstance(val, dict) and "from" in val else val)
                      for k, val in entry["inputs"].items()}
            if entry["type"] == "LCMSampler":
                inputs.update(width=size, height=size, seed=seed0 + v)
            if entry["type"] == "SaveImage":
                inputs["prefix"] = f"variant{v}"
            nodes[f"{node_id}{v}"] = {"type": entry["type"], "inputs": inputs}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def wide(count: int, delay: float, salt: int) -> dict:
    nodes = {f"w{i}": {"type": "RayWork", "inputs": {"value": i + 1000 * salt, "delay": delay}} for i in range(count)}
    nodes.update({f"k{i}": {"type": "Show", "inputs": {"value": {"from": f"w{i}", "output": "value"}}}
                  for i in range(count)})
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def trivial(count: int, chain: bool, salt: int) -> dict:
    """``count`` MathInt nodes, independent (each shown) or chained (the last shown)."""
    nodes: dict = {}
    for i in range(count):
        a = {"from": f"n{i - 1}", "output": "value"} if chain and i else i
        nodes[f"n{i}"] = {"type": "MathInt", "inputs": {"a": a, "b": salt, "op": "add"}}
        if not chain or i == count - 1:
            nodes[f"s{i}"] = {"type": "Show", "inputs": {"value": {"from": f"n{i}", "output": "value"}}}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def measure(executor, args, work: Path) -> dict[str, float]:
    from nodegraph.run.cache import Cache
    from nodegraph.run.context import Environment
    from nodegraph.files.roots import FileRoots
    from nodegraph.api.plugins import load_registry
    from nodegraph.run.session import Session

    registry = load_registry([PLUGIN_DIR], use_env=False)
    env = Environment(files=FileRoots(output_dir=work / "out"), device=args.device, demo_dir=work / "demo")
    session = Session(registry, env=env, cache=Cache(), executor=executor)
    figures: dict[str, float] = {}

    def timed(name: str, workflow: dict) -> None:
        start = time.perf_counter()
        result = session.run(workflow)
        if not result.ok:
            sys.exit(f"{name} failed: {result.error}")
        figures[name] = time.perf_counter() - start

    timed("variants cold", variants(args.variants, args.size, seed0=1))
    timed("variants warm", variants(args.variants, args.size, seed0=101))
    timed("wide cold", wide(32, 0.2, salt=1))  # Ray: task workers start here
    timed("wide warm", wide(32, 0.2, salt=2))
    for name, workflow in (("ms/node, 200 independent", trivial(200, chain=False, salt=1)),
                           ("ms/node, chain of 100", trivial(100, chain=True, salt=1))):
        timed(name, workflow)
        figures[name] *= 1000 / len(workflow["nodes"])
    session.close()
    return figures


def on_cluster(nodes: int, args, work: Path) -> dict[str, float]:
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray
    from ray.cluster_utils import Cluster
    from nodegraph.ray.executor import RayExecutor
    gpus = {"num_gpus": 1} if args.device == "cuda" else {}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.cpus_per_node, "include_dashboard": False,
                                                            "object_store_memory": 256 << 20, **gpus})
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=args.cpus_per_node, object_store_memory=256 << 20, **gpus)
    ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
    cluster.wait_for_nodes(timeout=120)
    try:
        return measure(RayExecutor(), args, work)
    finally:
        ray.shutdown()
        cluster.shutdown()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64, help="image size of the main-job variants")
    parser.add_argument("--variants", type=int, default=8)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--cpus-per-node", type=int, default=2)
    parser.add_argument("--address", default=None, help="benchmark this Ray cluster instead of simulated ones")
    args = parser.parse_args(argv)
    columns: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ray-scaling-") as tmp:
        from nodegraph.run.executor import InProcessExecutor
        columns["local"] = measure(InProcessExecutor(), args, Path(tmp) / "local")
        if args.address:
            from nodegraph.ray.executor import RayExecutor
            executor = RayExecutor(args.address)
            columns[f"ray {args.address}"] = measure(executor, args, Path(tmp) / "ray")
            executor.close()
        else:
            columns["ray 1 node"] = on_cluster(1, args, Path(tmp) / "ray1")
            columns["ray 2 nodes"] = on_cluster(2, args, Path(tmp) / "ray2")
    names = list(columns)
    print(f"{'workload':28}" + "".join(f"{n:>14}" for n in names) + "".join(f"{'local/' + n[4:]:>16}" for n in names[1:]))
    for row in columns["local"]:
        unit = "ms" if row.startswith("ms") else "s"
        cells = "".join(f"{columns[n][row]:>12.2f} {unit:<1}" for n in names)
        ratios = "".join(f"{columns['local'][row] / columns[n][row]:>15.2f}x" for n in names[1:])
        print(f"{row:28}{cells}{ratios}")
    print("ratios > 1: Ray is faster (throughput); for ms-per-node rows, < 1 is Ray's overhead")
    print(json.dumps({"size": args.size, "variants": args.variants, "device": args.device,
                      "cpus_per_node": args.cpus_per_node,
                      "figures": {n: {k: round(v, 3) for k, v in c.items()} for n, c in columns.items()}}))


if __name__ == "__main__":
    main()
