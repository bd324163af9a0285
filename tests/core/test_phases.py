"""Phases: the parts of a node's seconds it reports with ``nodegraph.phase`` (the model managers
report importing libraries, loading weights and switching LoRAs), in its ``executed`` event
and under it in ``--profile``'s table."""
from __future__ import annotations

import sys
import time

from core_helpers import cli, link, wf, write

from nodegraph import phase
from nodegraph.run.context import InterruptToken, RunContext, imported, phase_fields
from nodegraph.run.events import CollectingSink


def executed(session, workflow) -> dict:
    sink = CollectingSink()
    result = session.run(workflow, sink)
    assert result.ok, result.error
    return {e["node"]: e for e in sink.of("executed")}


def test_a_nodes_phases_add_up_inside_its_seconds_and_follow_its_work(session):
    events = executed(session, wf(two=("Phased", {"load": 0.1, "loads": 2}), one=("Phased", {"load": 0.1}),
                                  plain=("Slow", {"steps": 1, "delay": 0.05}),
                                  s=("Show", {"value": link("two")}), s1=("Show", {"value": link("one")}),
                                  s2=("Show", {"value": link("plain")})))
    two, one = events["two"], events["one"]
    # Lower bounds only (a wait lasts at least its length; how much longer depends on the machine):
    # two blocks of 0.1 s add up to at least 0.2 s, all inside the node's seconds, which also hold
    # the 0.02 s the node works after them.
    assert set(two["phases"]) == {"load"} and 0.2 <= two["phases"]["load"] <= two["seconds"] - 0.02
    assert set(one["phases"]) == {"load"} and 0.1 <= one["phases"]["load"] <= one["seconds"] - 0.02
    assert "phases" not in events["plain"] and "phases" not in events["s"]  # nothing reported: no field


def test_phases_under_a_millisecond_are_left_out_of_the_event():
    assert phase_fields({"load": 0.0004, "imports": 0.0021}) == {"phases": {"imports": 0.0021}}
    assert phase_fields({"load": 0.0009}) == {}  # none left: no field at all
    assert phase_fields({"load": 1.23456789}) == {"phases": {"load": 1.234568}}


def test_an_import_already_done_is_no_imports_phase(tmp_path, monkeypatch):
    """Only a real import is timed: re-importing a loaded module is a lookup, and timing it
    would report a loaded machine's scheduling delays as importing."""
    (tmp_path / "phase_probe_module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "phase_probe_module", raising=False)
    first, again = RunContext("a", "T", None, InterruptToken()), RunContext("b", "T", None, InterruptToken())
    with first.recording():
        assert imported("phase_probe_module").VALUE == 1
    with again.recording():
        assert imported("phase_probe_module") is sys.modules["phase_probe_module"]
    assert set(first.phases) == {"imports"} and again.phases == {}


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
