"""Warm models within a memory budget (nodegraph.run.model_cache), as the packs' model managers use them."""
from dataclasses import dataclass

import pytest

from nodegraph.run.model_cache import DEFAULT_BUDGET, WarmModelManager, WarmModels, budget_from_env, parse_bytes


@dataclass
class Entry:
    nbytes: int


def test_least_recently_used_models_go_first_when_over_budget():
    models = WarmModels(lambda e: e.nbytes, memory_budget=100)
    assert models.add("a", Entry(40)) == 0 and models.add("b", Entry(40)) == 0
    assert models.get("a") is not None  # a is now the most recently used
    assert models.add("c", Entry(40)) == 1
    assert models.keys() == ["a", "c"]  # b, least recently used, went
    assert models.get("b") is None


def test_the_model_just_added_stays_even_alone_over_budget():
    models = WarmModels(lambda e: e.nbytes, memory_budget=10)
    models.add("a", Entry(5))
    assert models.add("big", Entry(50)) == 1 and models.keys() == ["big"]
    assert models.add("bigger", Entry(80)) == 1 and models.keys() == ["bigger"]


def test_an_entry_that_grew_counts_at_its_current_size():
    models = WarmModels(lambda e: e.nbytes, memory_budget=100)
    a = Entry(30)
    models.add("a", a)
    a.nbytes = 80  # a LoRA loaded into it
    assert models.add("b", Entry(30)) == 1 and models.keys() == ["b"]
    roomy = WarmModels(lambda e: e.nbytes, memory_budget=1000)
    roomy.add("a", Entry(30)), roomy.add("b", Entry(30))
    assert roomy.keys() == ["a", "b"]


def test_the_budget_comes_from_the_environment(monkeypatch):
    assert [parse_bytes(t) for t in ("12G", "512M", "1.5G", "2KiB", "1000")] == [
        12 << 30, 512 << 20, int(1.5 * (1 << 30)), 2048, 1000]
    monkeypatch.delenv("NODEGRAPH_MODEL_MEMORY", raising=False)
    assert budget_from_env() == DEFAULT_BUDGET
    monkeypatch.setenv("NODEGRAPH_MODEL_MEMORY", "3G")
    assert WarmModels(lambda e: e.nbytes).memory_budget == 3 << 30
    assert WarmModels(lambda e: e.nbytes, memory_budget=7).memory_budget == 7  # an explicit budget wins


class Counting(WarmModelManager[str, Entry]):
    def _load(self, key: str) -> Entry:
        return Entry(len(key))


def test_a_manager_loads_once_per_key_and_counts_loads_and_evictions():
    manager = Counting(memory_budget=6)
    with manager._lock:
        first = manager._entry("abc")
        assert manager._entry("abc") is first  # warm: not loaded again
        manager._entry("def")
        manager._entry("ghij")  # 3 + 3 + 4 > 6: the two older ones go
    assert manager.loaded() == ["ghij"] and manager.stats == {"pipeline_loads": 3, "evictions": 2}
    manager.close()
    assert manager.loaded() == []
    with pytest.raises(NotImplementedError):
        WarmModelManager(memory_budget=1)._entry("x")
