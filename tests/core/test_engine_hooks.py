"""Engine hooks any pack can use (the ComfyUI adapter is built on them): value lists, fingerprints
that never match, hooks that take the node id, union socket types."""
from __future__ import annotations

import textwrap

import pytest

from nodegraph.run.cache import Cache, CacheEntry, DiskTier
from nodegraph.run.context import Environment
from nodegraph.api.errors import WorkflowInvalid
from nodegraph.run.events import CollectingSink
from nodegraph.files.roots import FileRoots
from nodegraph.api.lists import ValueList, as_value, item_at
from nodegraph.api.plugins import load_registry
from nodegraph.run.session import Session
from nodegraph.api.types import TypeRegistry

PACK = textwrap.dedent('''
    from typing import Any
    from nodegraph import NEVER_CACHED, Node, Socket, ValueList, Widget, node

    RUNS = []

    @node("Emit", outputs={"value": "INT"})
    class Emit(Node):
        count: int = Widget(3)
        def run(self, ctx):
            RUNS.append("Emit")
            return {"value": ValueList(range(1, self.count + 1))}

    @node("Double", outputs={"value": "INT"})
    class Double(Node):
        value: Any = Socket("INT")
        add: Any = Socket("INT", optional=True)
        def run(self, ctx):
            RUNS.append("Double")
            return {"value": self.value * 2 + (self.add or 0)}

    @node("Collect", outputs={"total": "INT", "count": "INT"})
    class Collect(Node):
        accepts_lists = True
        value: Any = Socket("INT")
        def run(self, ctx):
            items = list(self.value) if isinstance(self.value, ValueList) else [self.value]
            return {"total": sum(items), "count": len(items)}

    @node("Out", output_node=True)
    class Out(Node):
        value: Any = Socket("*")
        def run(self, ctx):
            ctx.ui["text"] = str(self.value)
            ctx.ui["items"] = [self.value]
            return {}

    @node("Volatile", outputs={"value": "INT"})
    class Volatile(Node):
        volatile: bool = Widget(True)
        @classmethod
        def fingerprint(cls, literals, env):
            return NEVER_CACHED if literals["volatile"] else "steady"
        def run(self, ctx):
            RUNS.append("Volatile")
            return {"value": len(RUNS)}

    @node("Labelled", outputs={"value": "STRING"})
    class Labelled(Node):
        label: str = Widget("x")
        @classmethod
        def fingerprint(cls, literals, env, node_id=None):
            return node_id
        @classmethod
        def check_inputs(cls, literals, env, node_id=None):
            return [("label", f"{node_id} wants a label")] if not literals["label"] else []
        def run(self, ctx):
            return {"value": self.label}

    @node("Either", outputs={"value": "STRING"})
    class Either(Node):
        value: Any = Socket("INT,STRING")
        def run(self, ctx):
            return {"value": repr(self.value)}

    @node("Text", outputs={"value": "STRING"})
    class Text(Node):
        text: str = Widget("t")
        def run(self, ctx):
            return {"value": self.text}

    @node("Flag", outputs={"value": "BOOLEAN"})
    class Flag(Node):
        def run(self, ctx):
            return {"value": True}
''')


@pytest.fixture
def pack(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "hooks_pack.py").write_text(PACK)
    registry = load_registry([folder], use_env=False, use_entry_points=False)
    assert not registry.failures, registry.failures
    return registry


@pytest.fixture
def session(pack, tmp_path):
    env = Environment(files=FileRoots(input_dir=tmp_path, models_dir=tmp_path, output_dir=tmp_path / "out"))
    with Session(pack, env, Cache()) as s:
        yield s


def wf(**nodes):
    return {"format": "nodegraph/workflow", "version": 1,
            "nodes": {nid: {"type": t, "inputs": inputs} for nid, (t, inputs) in nodes.items()}}


def link(node, output="value"):
    return {"from": node, "output": output}


def run(session, workflow):
    sink = CollectingSink()
    return session.run(workflow, sink=sink), sink


def ui_of(sink, node):
    return next(e.get("ui", {}) for e in sink.events if e.get("node") == node and e["event"] in ("executed", "cached"))


def test_a_node_runs_once_per_item_of_a_list_and_its_outputs_are_lists(session):
    result, sink = run(session, wf(e=("Emit", {"count": 3}), d=("Double", {"value": link("e")}),
                                   o=("Out", {"value": link("d")})))
    assert result.ok, result.error
    assert ui_of(sink, "o") == {"text": "2\n4\n6", "items": [2, 4, 6]}  # Out ran per item too; its ui gathered
    result, sink = run(session, wf(e=("Emit", {"count": 4}), d=("Double", {"value": link("e")}),
                                   o=("Out", {"value": link("d")})))
    assert ui_of(sink, "o")["items"] == [2, 4, 6, 8]


def test_shorter_lists_repeat_their_last_item_and_plain_values_repeat(session):
    result, sink = run(session, wf(a=("Emit", {"count": 3}), b=("Emit", {"count": 2}),
                                   d=("Double", {"value": link("a"), "add": link("b")}), o=("Out", {"value": link("d")})))
    assert result.ok
    assert ui_of(sink, "o")["items"] == [2 + 1, 4 + 2, 6 + 2]


def test_a_node_that_takes_lists_gets_the_whole_list_and_a_list_of_one_is_its_item(session):
    result, sink = run(session, wf(e=("Emit", {"count": 5}), c=("Collect", {"value": link("e")}),
                                   o=("Out", {"value": link("c", "total")}), n=("Out", {"value": link("c", "count")})))
    assert ui_of(sink, "o")["text"] == "15" and ui_of(sink, "n")["text"] == "5"
    result, sink = run(session, wf(e=("Emit", {"count": 1}), d=("Double", {"value": link("e")}),
                                   o=("Out", {"value": link("d")})))
    assert ui_of(sink, "o") == {"text": "2", "items": [2]}


def test_an_empty_list_runs_nothing_downstream(session):
    result, sink = run(session, wf(e=("Emit", {"count": 0}), d=("Double", {"value": link("e")}),
                                   o=("Out", {"value": link("d")})))
    assert result.ok and ui_of(sink, "o") == {}


def test_list_items_are_type_checked(session):
    from nodegraph.run.executor import OutputMismatch, check_outputs
    cls = session.registry.nodes["Double"]
    with pytest.raises(OutputMismatch, match="an item of its list"):
        check_outputs(cls, {"value": ValueList([1, "two"])}, session.registry.types)


def test_never_cached_reruns_every_time_and_a_steady_fingerprint_is_served_from_the_cache(session):
    volatile = wf(v=("Volatile", {"volatile": True}), o=("Out", {"value": link("v")}))
    first, _ = run(session, volatile)
    second, _ = run(session, volatile)
    assert first.executed == ["v", "o"] and second.executed == ["v", "o"]
    steady = wf(v=("Volatile", {"volatile": False}), o=("Out", {"value": link("v")}))
    run(session, steady)
    again, _ = run(session, steady)
    assert again.executed == [] and again.cached == ["v", "o"]


def test_hooks_that_take_node_id_get_it(session):
    result, _ = run(session, wf(a=("Labelled", {}), b=("Labelled", {}), oa=("Out", {"value": link("a")}),
                                ob=("Out", {"value": link("b")})))
    assert sorted(result.executed) == ["a", "b", "oa", "ob"]  # same literals, keys differ by node id
    with pytest.raises(WorkflowInvalid) as bad:
        session.prepare(wf(q=("Labelled", {"label": ""}), o=("Out", {"value": link("q")})))
    assert [(p.node, p.input, p.message) for p in bad.value.problems] == [("q", "label", "q wants a label")]


def test_a_union_socket_takes_either_member_and_nothing_else(session):
    for source, expected in (("Emit", "1"), ("Text", "'t'")):
        result, sink = run(session, wf(s=(source, {"count": 1} if source == "Emit" else {}),
                                       e=("Either", {"value": link("s")}), o=("Out", {"value": link("e")})))
        assert result.ok and ui_of(sink, "o")["text"] == expected
    with pytest.raises(WorkflowInvalid) as bad:
        session.prepare(wf(f=("Flag", {}), e=("Either", {"value": link("f")}), o=("Out", {"value": link("e")})))
    assert [p.code for p in bad.value.problems] == ["type_mismatch"]


def test_union_compatibility_rules():
    types = TypeRegistry()
    assert types.compatible("INT", "INT,STRING") and types.compatible("INT,FLOAT", "FLOAT")
    assert types.compatible("*", "INT,STRING") and not types.compatible("BOOLEAN", "INT,STRING")
    assert types.check_value("INT,STRING", "x") and not types.check_value("INT,STRING", 1.5)


def test_value_lists_survive_the_disk_cache(tmp_path):
    import torch
    tier = DiskTier(tmp_path)
    value = ValueList([torch.ones(2), torch.zeros(3)])
    assert tier.put("k" * 40, CacheEntry({"images": value, "plain": (1, 2)}))
    back = tier.get("k" * 40).outputs
    assert isinstance(back["images"], ValueList) and [t.tolist() for t in back["images"]] == [[1, 1], [0, 0, 0]]
    assert back["plain"] == (1, 2) and not isinstance(back["plain"], ValueList)


def test_list_helpers():
    assert as_value([5]) == 5 and as_value([1, 2]) == ValueList([1, 2])
    assert item_at(ValueList([1, 2]), 5) == 2 and item_at(7, 3) == 7
