"""The cycle collector around a job's preparation (run/gctune.py): what validation and planning
build goes to the oldest generation unwalked, the collector comes back as it was, and a freeze
made by someone else (a server freezing before it forks workers) is left alone."""
from __future__ import annotations

import gc

import pytest

from nodegraph.run.gctune import BIG_GRAPH_NODES, collector_paused
from nodegraph.run.session import Session


def _chain(n: int) -> dict:
    nodes = {"n0": {"type": "Int", "inputs": {"value": 0}}}
    for i in range(1, n - 1):
        nodes[f"n{i}"] = {"type": "MathInt", "inputs": {"a": {"from": f"n{i - 1}", "output": "value"}, "b": 1}}
    nodes["out"] = {"type": "Show", "inputs": {"value": {"from": f"n{n - 2}", "output": "value"}}}
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


@pytest.fixture
def session(tmp_path):
    with Session.open(output_dir=tmp_path, cache_dir=None, device="cpu") as opened:
        yield opened


def _generations_of(*objects) -> list[int | None]:
    """The collector generation each of ``objects`` is in."""
    ids = [{id(o) for o in gc.get_objects(generation=g)} for g in range(3)]
    return [next((g for g in range(3) if id(obj) in ids[g]), None) for obj in objects]


def test_a_big_prepared_jobs_graph_and_plan_are_in_the_oldest_generation(session):
    job = session.prepare(_chain(BIG_GRAPH_NODES))
    assert gc.isenabled()
    nodes = list(job.graph.nodes.values())
    assert _generations_of(job.graph, job.plan, nodes[0], nodes[-1]) == [2, 2, 2, 2]
    assert session.execute(job).ui["out"] == {"text": str(BIG_GRAPH_NODES - 2)}  # and it runs as before


def test_a_small_jobs_graph_is_left_to_the_young_collections(session):
    gc.collect()
    job = session.prepare(_chain(20))
    gc.disable()  # no collection may move them while they are looked for
    try:
        assert 2 not in _generations_of(job.graph, job.plan)
    finally:
        gc.enable()


def test_the_collector_comes_back_as_it_was():
    gc.disable()
    try:
        with collector_paused(graph_nodes=BIG_GRAPH_NODES):
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
    with collector_paused(graph_nodes=BIG_GRAPH_NODES):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_freeze_made_by_someone_else_is_left_alone(session):
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        job = session.prepare(_chain(50))
        assert gc.get_freeze_count() >= frozen  # nothing of theirs was unfrozen
        assert session.execute(job).ui["out"] == {"text": "48"}
    finally:
        gc.unfreeze()
