"""Executor behaviour: events, errors, interrupts, progress, runtime output checks, planning."""

from core_helpers import link, wf

from nodegraph.graph.plan import make_plan
from nodegraph.graph.validate import build_graph
from nodegraph.graph.workflow import parse_workflow
from nodegraph.run.context import InterruptToken
from nodegraph.run.events import VOCABULARY, CollectingSink


def test_events_follow_the_vocabulary_and_done_summarises(session):
    sink = CollectingSink()
    result = session.run(wf(a=("Int", {"value": 1}), s=("Show", {"value": link("a")})), sink)
    kinds = [e["event"] for e in sink.events]
    assert kinds == ["start", "executing", "executed", "executing", "executed", "done"]
    assert all(e["event"] in VOCABULARY and e["job"] == sink.events[0]["job"] for e in sink.events)
    assert sink.events[0]["nodes"] == ["a", "s"]
    done = sink.events[-1]
    assert done["executed"] == 2 and done["cached"] == 0 and done["seconds"] >= 0 and done["outputs"] == []
    assert result.ok


def test_node_exception_becomes_an_error_event_and_finished_nodes_stay_cached(session):
    workflow = wf(a=("Counter", {"value": 4}), b=("MathInt", {"a": link("a"), "b": 1}),
                  f=("Fail", {"value": link("b")}), s=("Show", {"value": link("f")}))
    sink = CollectingSink()
    result = session.run(workflow, sink)
    assert result.status == "failed"
    (error,) = sink.of("error")
    assert error["node"] == "f" and error["node_type"] == "Fail"
    assert "boom from a node" in error["message"] and "RuntimeError" in error["traceback"]
    assert "s" not in sink.nodes("executing")
    again = CollectingSink()
    session.run(workflow, again)
    assert again.nodes("cached") == {"a", "b"}  # nothing finished is lost


def test_user_errors_name_the_input(session):
    sink = CollectingSink()
    session.run(wf(a=("Counter", {}), f=("Fail", {"value": link("a"), "user_error": True}),
                   s=("Show", {"value": link("f")})), sink)
    (error,) = sink.of("error")
    assert error["input"] == "value" and error["message"] == "the value is not acceptable"


def test_outputs_are_checked_against_declared_types(session):
    sink = CollectingSink()
    result = session.run(wf(l=("Liar", {}), s=("Show", {"value": link("l")})), sink)
    assert result.status == "failed"
    (error,) = sink.of("error")
    assert error["node"] == "l" and "'value'" in error["message"] and "INT" in error["message"]


def test_interrupt_token_stops_a_long_node_and_the_run(session):
    token = InterruptToken()
    sink = CollectingSink()

    def interrupt_after_progress(event):
        sink(event)
        if event["event"] == "progress" and event["value"] == 3:
            token.set()

    result = session.run(wf(x=("Slow", {"steps": 100, "delay": 0.001}), s=("Show", {"value": link("x")})),
                         interrupt_after_progress, interrupt=token)
    assert result.status == "interrupted"
    assert [e["value"] for e in sink.of("progress")] == [1, 2, 3]
    assert sink.of("interrupted")[0]["node"] == "x"
    assert sink.of("done")[0]["status"] == "interrupted"


def test_interrupt_between_nodes_from_another_thread(session):
    token = InterruptToken()
    sink = CollectingSink()

    def emit(event):
        sink(event)
        if event["event"] == "executed" and event["node"] == "a":
            token.set()

    session.run(wf(a=("Counter", {"value": 1}), b=("MathInt", {"a": link("a")}), s=("Show", {"value": link("b")})),
                emit, interrupt=token)
    assert sink.nodes("executed") == {"a"} and sink.of("interrupted")[0]["node"] == "b"


def test_plan_runs_only_ancestors_of_outputs_and_finds_independent_branches(registry, env):
    graph = build_graph(parse_workflow(wf(
        a=("Int", {}), b=("MathInt", {"a": link("a")}), s1=("Show", {"value": link("b")}),
        c=("Int", {}), s2=("Show", {"value": link("c")}),
        dead=("Int", {}), dead2=("MathInt", {"a": link("dead")}))), registry, env)
    plan = make_plan(graph)
    assert set(plan.order) == {"a", "b", "s1", "c", "s2"}
    assert plan.order.index("a") < plan.order.index("b") < plan.order.index("s1")
    assert {frozenset(b) for b in plan.branches} == {frozenset({"a", "b", "s1"}), frozenset({"c", "s2"})}
    assert set(plan.levels[0]) == {"a", "c"}
    # Asked for particular nodes (run up to a node): only those and their ancestors.
    assert set(make_plan(graph, targets={"b"}).order) == {"a", "b"}
    assert set(make_plan(graph, targets={"dead2", "c"}).order) == {"dead", "dead2", "c"}
    assert len(make_plan(graph, targets=set())) == 0


def test_chains_deeper_than_the_recursion_limit_run(session):
    nodes = {"n0": ("Int", {"value": 0})}
    for i in range(1, 3000):
        nodes[f"n{i}"] = ("MathInt", {"a": link(f"n{i-1}"), "b": 1})
    nodes["out"] = ("Show", {"value": link("n2999")})
    result = session.run(wf(**nodes))
    assert result.ok and result.ui["out"]["text"] == "2999"
