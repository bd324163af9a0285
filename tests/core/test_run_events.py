"""What one run reports, in-process: every event tagged with its job, node ids on progress,
per-node seconds inside the run's own, the output nodes' values, a value feeding two inputs."""
from __future__ import annotations

import time

from core_helpers import link, wf

from nodegraph.run.events import CollectingSink


def run_twice(session):
    workflow = wf(n=("Int", {"value": 3}), m=("MathInt", {"a": link("n"), "b": link("n")}),
                  slow=("Slow", {"steps": 2, "delay": 0.0}), s=("Show", {"value": link("m")}),
                  s2=("Show", {"value": link("slow")}))
    results = []
    for _ in range(2):
        sink = CollectingSink()
        started = time.perf_counter()
        result = session.run(workflow, sink)
        results.append((result, sink, time.perf_counter() - started))
    return results


def test_every_event_of_a_job_carries_its_id_and_progress_names_its_node(session):
    runs = run_twice(session)
    for result, sink, _ in runs:
        assert result.ok, result.error
        (start,) = sink.of("start")
        assert {e.get("job") for e in sink.events} == {start["job"]}  # cached events too
    assert {e["node"] for e in runs[0][1].of("progress")} == {"slow"}


def test_seconds_are_each_nodes_share_of_the_run(session):
    (first, sink, elapsed), (second, sink2, _) = run_twice(session)
    (done,) = sink.of("done")
    assert 0 <= first.seconds <= elapsed and done["seconds"] == round(first.seconds, 6)
    executed = sink.of("executed")
    assert {e["node"] for e in executed} == {"n", "m", "slow", "s", "s2"}
    for event in executed:
        assert isinstance(event["seconds"], float) and 0 <= event["seconds"] <= done["seconds"]
    assert sink2.of("executed") == [] and second.cached == first.executed


def test_one_output_feeding_two_inputs_and_output_values(session):
    (first, _, _), (second, _, _) = run_twice(session)
    assert first.ui["s"]["text"] == "6" and second.ui["s"]["text"] == "6"  # 3 + 3, cached or not
    assert first.values["s"] == {} and first.values["s2"] == {}  # output nodes' outputs (none for Show)
