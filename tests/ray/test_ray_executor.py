"""The Ray executor on a two-node cluster: placement, events, errors, interrupts, dead workers."""
from __future__ import annotations

import threading

import pytest

from nodegraph.run.cache import Cache

from ray_helpers import placed, run, wf


def test_wide_graph_spreads_over_both_nodes_with_local_results(make_session, cluster):
    graph = {f"w{i}": ("RayWork", {"value": i, "delay": 1.5}) for i in range(6)}
    graph.update({f"k{i}": ("RayKeep", {"value": f"@w{i}.value"}) for i in range(6)})
    quick = {k: (t, {**i, "delay": 0.0} if t == "RayWork" else i) for k, (t, i) in graph.items()}
    local, _ = run(make_session(ray=False), wf(**quick))
    result, sink = run(make_session(), wf(**graph))
    assert result.status == "success", result.error
    assert result.values == local.values == {f"k{i}": {"value": 2 * i} for i in range(6)}
    where = placed(sink)
    assert set(where) == {f"w{i}" for i in range(6)}  # output nodes run on the driver
    assert set(where.values()) == {cluster["head"], cluster["gpu"]}


def test_custom_resource_node_runs_only_where_it_exists(make_session, cluster):
    graph = {f"g{i}": ("RaySimGPU", {"value": i}) for i in range(3)}
    graph.update({f"k{i}": ("RayKeep", {"value": f"@g{i}.value"}) for i in range(3)})
    result, sink = run(make_session(), wf(**graph))
    assert result.status == "success", result.error
    assert {k: v["value"] for k, v in result.values.items()} == {"k0": 100, "k1": 101, "k2": 102}
    assert set(placed(sink).values()) == {cluster["gpu"]}


def test_node_no_ray_node_can_host_fails_fast_naming_it(make_session):
    graph = wf(a=("RayWork", {"value": 1}), big=("RaySimGPU", {"value": 1, "units": 2}),
               ka=("RayKeep", {"value": "@a.value"}), kb=("RayKeep", {"value": "@big.value"}))
    result, sink = run(make_session(), graph)
    assert result.status == "failed" and result.executed == []
    assert result.error["node"] == "big" and "gpu_sim=2" in result.error["message"]
    assert sink.of("done")[0]["status"] == "failed"


def test_progress_from_remote_node_arrives_in_order(make_session):
    result, sink = run(make_session(), wf(s=("RaySteps", {"steps": 4}), k=("RayKeep", {"value": "@s.value"})))
    assert result.status == "success" and result.values["k"]["value"] == 4
    mine = [(e["event"], e.get("value")) for e in sink.events if e.get("node") == "s"]
    assert mine == [("executing", None), ("progress", 1), ("progress", 2), ("progress", 3), ("progress", 4),
                    ("executed", None)]


def test_executed_events_carry_the_seconds_each_node_ran(make_session, tmp_path):
    """As in-process: remote tasks and driver-run output nodes report their run() time; a cached
    re-run's events carry none."""
    graph = wf(slow=("RaySteps", {"steps": 3, "delay": 0.2}), quick=("RayWork", {"value": 2}),
               ks=("RayKeep", {"value": "@slow.value"}), kq=("RayKeep", {"value": "@quick.value"}))
    session = make_session(cache=Cache(disk_dir=tmp_path / "cache"))
    result, sink = run(session, graph)
    assert result.status == "success", result.error
    seconds = {e["node"]: e["seconds"] for e in sink.of("executed")}
    assert set(seconds) == {"slow", "quick", "ks", "kq"}
    assert seconds["slow"] >= 0.6 > seconds["quick"]  # its three 0.2 s steps, measured where it ran
    phases = {e["node"]: e.get("phases") for e in sink.of("executed")}
    assert 0.6 <= phases["slow"]["waiting"] <= seconds["slow"]  # its phase blocks, recorded remotely too
    assert phases["quick"] is None and phases["ks"] is None
    assert set(placed(sink)) == {"slow", "quick"}  # the keepers ran on the driver and still say
    again, sink = run(session, graph)
    assert again.executed == [] and all("seconds" not in e for e in sink.of("cached"))

@pytest.mark.parametrize("fast", [True, False])
def test_fast_mode_reaches_the_workers(make_session, fast):
    """``run --compile --executor ray``: nodes on workers see the driver's fast mode (a worker's own
    NODEGRAPH_COMPILE does not decide it)."""
    session = make_session()
    session.env.compile = fast
    result, sink = run(session, wf(f=("RayEnvFacts", {}), k=("RayKeep", {"value": "@f.compile"})))
    assert result.status == "success", result.error
    assert result.values["k"]["value"] == int(fast) and "f" in placed(sink)


def test_a_model_worker_imports_diffusers_without_the_compiler(make_session):
    """Workers trim their imports as `nodegraph run` does (trimmed_imports.py)."""
    graph = wf(d=("RayImportsDiffusers", {}), k=("RayKeep", {"value": "@d.compiler"}))
    result, sink = run(make_session(), graph)
    assert result.status == "success", result.error
    assert result.values["k"]["value"] == 0 and "d" in placed(sink)


def test_node_error_names_node_and_input_as_locally(make_session):
    graph = wf(a=("Int", {"value": 7}), d=("MathInt", {"a": "@a.value", "b": 0, "op": "floordiv"}),
               k=("RayKeep", {"value": "@d.value"}))
    local, _ = run(make_session(ray=False), graph)
    result, sink = run(make_session(), graph)
    assert result.status == local.status == "failed"
    for key in ("node", "node_type", "input", "message", "exception"):
        assert result.error[key] == local.error[key]
    assert result.error["input"] == "b" and "by zero" in result.error["message"]


def test_interrupt_stops_running_remote_node_and_cancels_pending(make_session):
    from nodegraph.run.context import InterruptToken
    graph = wf(s=("RaySteps", {"steps": 200, "delay": 0.05}), after=("RaySteps", {"value": "@s.value", "steps": 1}),
               k=("RayKeep", {"value": "@after.value"}))
    token, seen = InterruptToken(), threading.Event()
    session = make_session()
    events = []

    def sink(event):
        events.append(event)
        if event["event"] == "progress" and event["value"] >= 3:
            seen.set()

    def interrupt():
        if seen.wait(60):
            token.set()

    threading.Thread(target=interrupt, daemon=True).start()
    result = session.run(graph, sink=sink, interrupt=token)
    assert result.status == "interrupted"
    progress = [e["value"] for e in events if e["event"] == "progress"]
    assert 3 <= max(progress) < 200  # stopped within a few steps, not at the end
    assert not any(e["event"] == "executing" and e["node"] == "after" for e in events)
    assert [e["node"] for e in events if e["event"] == "interrupted"] == ["s"]
    again, _ = run(session, wf(a=("RayWork", {"value": 2}), k=("RayKeep", {"value": "@a.value"})))
    assert again.status == "success" and again.values["k"]["value"] == 4  # the driver keeps serving


def test_dead_worker_is_an_error_naming_the_node_and_the_driver_keeps_serving(make_session):
    session = make_session()
    result, _ = run(session, wf(c=("RayCrash", {"value": 1}), k=("RayKeep", {"value": "@c.value"})))
    assert result.status == "failed"
    assert result.error["node"] == "c" and "died" in result.error["message"]
    assert "not deterministic" in result.error["message"]
    again, _ = run(session, wf(a=("RayWork", {"value": 5}), k=("RayKeep", {"value": "@a.value"})))
    assert again.status == "success" and again.values["k"]["value"] == 10


def test_deterministic_node_whose_worker_died_is_run_once_more(make_session, tmp_path):
    marker = tmp_path / "crashed"
    result, _ = run(make_session(), wf(c=("RayCrashOnce", {"marker": str(marker), "value": 3}),
                                        k=("RayKeep", {"value": "@c.value"})))
    assert marker.exists()  # the first worker died
    assert result.status == "success" and result.values["k"]["value"] == 3


def test_cache_hits_are_served_without_touching_ray(make_session, monkeypatch, tmp_path):
    import nodegraph.ray.executor as rex
    graph = wf(a=("RayWork", {"value": 4}), g=("RaySimGPU", {"value": 1}),
               ka=("RayKeep", {"value": "@a.value"}), kg=("RayKeep", {"value": "@g.value"}))
    session = make_session(cache=Cache(disk_dir=tmp_path / "cache"))
    first, _ = run(session, graph)
    assert first.status == "success" and sorted(first.executed) == ["a", "g", "ka", "kg"]

    def no_ray(*args, **kwargs):
        raise AssertionError("a cached job touched Ray")

    monkeypatch.setattr(rex.run_task, "options", no_ray)
    monkeypatch.setattr(rex.ModelWorkerPool, "pick", no_ray)
    second, sink = run(session, graph)
    assert second.status == "success" and second.executed == [] and sorted(second.cached) == ["a", "g", "ka", "kg"]
    assert second.values == first.values
    # A changed input misses, and (with Ray put back) runs on Ray again.
    monkeypatch.undo()
    third, sink = run(session, wf(**{**{k: (v["type"], v["inputs"]) for k, v in graph["nodes"].items()},
                                     "a": ("RayWork", {"value": 5})}))
    assert third.executed == ["a", "ka"] and third.values["ka"]["value"] == 10


@pytest.mark.parametrize("device, expected", [("cpu", ()), ("cuda", (("GPU", 1.0),))])
def test_pack_default_resources_put_model_nodes_in_model_workers(registry, device, expected):
    from nodegraph.ray.placement import ACTOR, DRIVER, TASK, placement_of
    from nodegraph.api.plugins import load_registry
    builtins = load_registry((), use_env=False)
    encode = placement_of(builtins.get("EncodePrompt"), {}, gpu_job=device == "cuda")
    assert encode.kind == ACTOR and encode.needs == expected
    assert placement_of(builtins.get("MathInt"), {}, gpu_job=True).kind == TASK
    assert placement_of(builtins.get("SaveImage"), {}, gpu_job=True).kind == DRIVER
    assert placement_of(registry.get("RaySimGPU"), {"units": 3}, gpu_job=False).needs == (("gpu_sim", 3.0),)


def test_model_workers_one_per_gpu_sticky_until_busy_then_spread(monkeypatch):
    from nodegraph.ray.placement import ACTOR, ModelWorkerPool, Placement, worker_slots
    nodes = {"big": {"CPU": 16, "GPU": 4}, "cpu": {"CPU": 8}}
    assert worker_slots((("GPU", 1.0),), nodes) == ["big#0", "big#1", "big#2", "big#3"]
    assert worker_slots((("GPU", 1.0), ("memory", 8.0 * 2**30)), {"m": {"GPU": 4, "memory": 20 * 2**30}}) == \
        ["m#0", "m#1"]  # the scarcer resource decides
    assert worker_slots((), nodes) == ["big#0", "cpu#0"]
    pool = ModelWorkerPool()
    monkeypatch.setattr(ModelWorkerPool, "_actor", lambda self, placement, slot, env: slot)
    gpu = Placement(ACTOR, (("GPU", 1.0),))

    def pick(token):
        actor, slot = pool.pick(gpu, token, nodes, {})
        pool.started(gpu, slot, +1)
        return slot

    first = pick("sdxl")
    assert pick("sdxl") == first  # a second node of the chain queues on the warm worker
    third = pick("sdxl")
    assert third != first  # two already there: an idle GPU is recruited
    pool.started(gpu, first, -2)
    pool.started(gpu, third, -1)
    assert pick("sdxl") == first  # idle again: back to the worker that holds the model
    assert pick("other") not in (first, third)  # another model prefers a free GPU
