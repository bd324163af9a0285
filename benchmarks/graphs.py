"""Workflows of trivial nodes for the overhead benchmarks: what the engine costs per node when
the nodes themselves cost almost nothing."""
from __future__ import annotations


def chain(n: int) -> dict:
    """``n`` nodes, each adding 1 to the one before, the last one shown."""
    nodes = {"n0": {"type": "Int", "inputs": {"value": 0}}}
    for i in range(1, n - 1):
        nodes[f"n{i}"] = {"type": "MathInt", "inputs": {"a": {"from": f"n{i-1}", "output": "value"}, "b": 1}}
    nodes["out"] = {"type": "Show", "inputs": {"value": {"from": f"n{n-2}", "output": "value"}}}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


def wide(n: int) -> dict:
    """``n / 2`` independent pairs: a value and the node that shows it."""
    nodes = {}
    for i in range(n // 2):
        nodes[f"v{i}"] = {"type": "Int", "inputs": {"value": i}}
        nodes[f"s{i}"] = {"type": "Show", "inputs": {"value": {"from": f"v{i}", "output": "value"}}}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}
