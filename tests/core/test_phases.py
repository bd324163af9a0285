"""Phases: the parts of a node's seconds it reports with ``nodegraph.phase`` (the model managers
report importing libraries, loading weights and switching LoRAs), in its ``executed`` event
and under it in ``--profile``'s table."""
from __future__ import annotations

import time

from core_helpers import cli, link, wf, write

from nodegraph import phase
from nodegraph.run.events import CollectingSink


def executed(session, workflow) -> dict:
    sink = CollectingSink()
    result = session.run(workflow, sink)
    assert result.ok, result.error
    return {e["node"]: e for e in sink.of("executed")}


def test_a_nodes_phases_add_up_inside_its_seconds_and_follow_its_work(session):
    events = executed(session, wf(two=("Phased", {"load": 0.1, "loads": 2}), one=("Phased", {"load": 0.1}),
                                  none=("Phased", {"load": 0.0}), plain=("Slow", {"steps": 1, "delay": 0.05}),
                                  s=("Show", {"value": link("two")}), s1=("Show", {"value": link("one")}),
                                  s2=("Show", {"value": link("plain")}), s3=("Show", {"value": link("none")})))
    two, one = events["two"], events["one"]
    assert set(two["phases"]) == {"load"} and 0.2 <= two["phases"]["load"] <= two["seconds"] - 0.02
    assert 0.1 <= one["phases"]["load"] < 0.2 <= two["phases"]["load"]  # twice the waits, twice the phase
    assert "phases" not in events["plain"] and "phases" not in events["s"]  # nothing reported: no field
    assert "phases" not in events["none"]  # under a millisecond (an import already done): not worth a line


def test_a_phase_outside_any_node_just_runs_its_block():
    started = time.perf_counter()
    with phase("load"):
        time.sleep(0.01)
    assert time.perf_counter() - started >= 0.01


def test_profile_lists_each_nodes_phases_under_it(tmp_path, plugin_dir):
    path = write(tmp_path / "w.json", wf(p=("Phased", {"load": 0.3}), s=("Show", {"value": link("p")})))
    out = cli("run", str(path), "--plugins", str(plugin_dir), "--profile", "--no-cache")
    assert out.returncode == 0, out.stderr
    table = out.stderr[out.stderr.index("time per node:"):].splitlines()
    assert table[2].split()[0] == "p" and table[3].split()[0] == "load"  # right under its node
    assert 0.3 <= float(table[3].split()[1]) <= float(table[2].split()[1])
