"""A sweep on the 2-node cluster: independent cells run side by side on both nodes, a node
that needs the (simulated) GPU runs on the node that has it, once per distinct input."""
from __future__ import annotations

from ray_helpers import placed, run, wf


def test_sweep_cells_spread_over_the_cluster(make_session, cluster):
    data = wf(gpu=("RaySimGPU", {"value": 1}),
              steps=("RaySteps", {"value": "@gpu.value", "steps": 1, "delay": 0.4}),
              show=("Show", {"value": "@steps.value"}))
    data["sweep"] = {"axes": [{"node": "gpu", "input": "value", "values": [1, 2]},
                              {"node": "steps", "input": "steps", "values": [1, 2, 3, 4]}]}
    result, sink = run(make_session(), data)
    assert result.ok, result.error
    where = placed(sink)
    runs = {}
    for node in where:
        runs[node.split("[")[0]] = runs.get(node.split("[")[0], 0) + 1
    assert runs == {"gpu": 2, "steps": 8}  # show runs on the driver (an output node)
    assert {where[n] for n in where if n.startswith("gpu[")} == {cluster["gpu"]}
    assert {where[n] for n in where if n.startswith("steps[")} == {cluster["head"], cluster["gpu"]}
    cells = sink.of("cell")
    assert [c["done"] for c in cells] == list(range(1, 9))
    shown = {e["node"]: e["ui"]["text"] for e in sink.of("executed") if e["node"].startswith("show[")}
    assert shown["show[value=2,steps=3]"] == str(2 + 100 + 3)
