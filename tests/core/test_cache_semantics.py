"""Re-runs execute exactly what changed: Merkle keys, memory tier, non-deterministic nodes."""
from core_helpers import link, wf

from nodegraph.graph.workflow import parse_workflow
from nodegraph.run.cache import CacheEntry, MemoryTier
from nodegraph.run.events import CollectingSink


def diamond(b_value=5, c_factor=3):
    #   a -> b -> d -> show
    #   a -> c -/      e -> show2 (independent)
    return parse_workflow(wf(
        a=("Int", {"value": 2}),
        b=("MathInt", {"a": link("a"), "b": b_value}),
        c=("MathInt", {"a": link("a"), "b": c_factor, "op": "multiply"}),
        d=("MathInt", {"a": link("b"), "b": link("c")}),
        show=("Show", {"value": link("d")}),
        e=("Counter", {"value": 9}),
        show2=("Show", {"value": link("e")}),
        unused=("Counter", {"value": 1}),
    ))


def run(session, workflow):
    sink = CollectingSink()
    result = session.run(workflow, sink)
    assert result.ok, result.error
    return result, sink


def test_unchanged_workflow_executes_nothing_the_second_time(session):
    first, _ = run(session, diamond())
    assert set(first.executed) == {"a", "b", "c", "d", "show", "e", "show2"}  # 'unused' is not needed
    second, sink = run(session, diamond())
    assert second.executed == []
    assert set(second.cached) == set(first.executed)
    assert sink.nodes("executing") == set()
    assert second.ui["show"]["text"] == str((2 + 5) + 2 * 3)


def test_changing_one_literal_reruns_exactly_that_node_and_descendants(session):
    run(session, diamond())
    result, _ = run(session, diamond(b_value=6))
    assert set(result.executed) == {"b", "d", "show"}
    assert set(result.cached) == {"a", "c", "e", "show2"}
    assert result.ui["show"]["text"] == str((2 + 6) + 2 * 3)


def test_default_written_out_is_the_same_key(session):
    run(session, wf(a=("Int", {}), s=("Show", {"value": link("a")})))
    result, _ = run(session, wf(a=("Int", {"value": 0}), s=("Show", {"value": link("a")})))
    assert result.executed == []


def test_non_deterministic_node_is_never_served_from_cache(session):
    workflow = wf(seed=("Seed", {"mode": "random"}), m=("MathInt", {"a": link("seed", "seed"), "b": 1}),
                  s=("Show", {"value": link("m")}), k=("Counter", {"value": 1}), s2=("Show", {"value": link("k")}))
    first, _ = run(session, workflow)
    second, _ = run(session, workflow)
    assert set(second.executed) == {"seed", "m", "s"}  # descendants of a random node re-run too
    assert set(second.cached) == {"k", "s2"}
    assert first.ui["s"]["text"] != second.ui["s"]["text"]
    fixed = wf(seed=("Seed", {"mode": "fixed", "seed": 7}), s=("Show", {"value": link("seed", "seed")}))
    run(session, fixed)
    assert run(session, fixed)[0].executed == []


def test_cache_off_executes_everything(registry, env):
    from nodegraph.run.cache import Cache
    from nodegraph.run.session import Session
    session = Session(registry, env, Cache(enabled=False))
    run(session, diamond())
    again, _ = run(session, diamond())
    assert len(again.executed) == 7 and again.cached == []


def test_memory_tier_is_lru_bounded_in_bytes():
    import torch
    tier = MemoryTier(max_bytes=3 * 4096 + 1000)
    tensors = {k: torch.zeros(1024) for k in "abcd"}  # 4096 bytes each
    for k in "abc":
        tier.put(k, CacheEntry({"x": tensors[k]}))
    assert tier.get("a") is not None  # a is now the most recent
    tier.put("d", CacheEntry({"x": tensors["d"]}))
    assert "b" not in tier and all(k in tier for k in "acd")
    assert tier.bytes <= tier.max_bytes
    tier.put("huge", CacheEntry({"x": torch.zeros(10_000)}))  # larger than the budget: not kept
    assert "huge" not in tier and len(tier) == 3


def _key_material(session, monkeypatch, depth: int) -> list[int]:
    """Bytes hashed into each node's key while running a MathInt chain ``depth`` nodes long."""
    import nodegraph.run.cache as cache_mod
    sizes: list[int] = []
    real = cache_mod.canonical_json

    def recording(parts):
        text = real(parts)
        sizes.append(len(text))
        return text
    monkeypatch.setattr(cache_mod, "canonical_json", recording)
    nodes = {"n0": ("Int", {"value": 0})}
    for i in range(1, depth):
        nodes[f"n{i}"] = ("MathInt", {"a": link(f"n{i-1}"), "b": 1})
    nodes["out"] = ("Show", {"value": link(f"n{depth - 1}")})
    result, _ = run(session, wf(**nodes))
    assert result.ui["out"]["text"] == str(depth - 1)
    monkeypatch.setattr(cache_mod, "canonical_json", real)
    return sizes


def test_key_material_does_not_grow_with_graph_depth(session, monkeypatch):
    """Merkle keys: a node's key hashes its parents' keys, never its ancestry (ComfyUI's
    quadratic trap), so the bytes hashed per node are the same at depth 10 and at depth 2,000."""
    shallow = _key_material(session, monkeypatch, 10)
    session.cache.memory.clear()
    deep = _key_material(session, monkeypatch, 2000)
    assert len(deep) >= 2000  # every node was keyed
    # a few bytes more for longer node ids / numbers at most; an embedded ancestry would be MBs
    assert max(deep) <= max(shallow) + 32, (max(shallow), max(deep))
