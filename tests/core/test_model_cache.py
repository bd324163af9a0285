"""Warm models within a memory budget (nodegraph.run.model_cache), as the packs' model managers use them."""
from dataclasses import dataclass

import pytest

from nodegraph.run.model_cache import (DEFAULT_BUDGET, WarmModelManager, WarmModels, adapter_layers, budget_from_env,
                                       parameter_bytes, parse_bytes, place, put_back, set_aside)


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


class Patched(WarmModelManager[str, Entry]):
    def _load(self, key: str) -> Entry:
        return Entry(len(key))


def test_using_loads_a_cold_entry_once_patches_it_and_holds_the_lock_for_the_block():
    import threading
    manager, patched = Patched(), []
    with manager._using("abc", patched.append) as entry:
        assert patched == [entry] and entry.nbytes == 3
        other = threading.Thread(target=lambda: manager._lock.acquire() and manager._lock.release())
        other.start()
        other.join(0.2)
        assert other.is_alive()  # another job waits until this one is done with the entry
    other.join(5)
    assert not other.is_alive()
    with manager._using("abc") as again:
        assert again is entry
    assert manager.stats["pipeline_loads"] == 1 and patched == [entry]  # warm, and no patch asked for


class Pipe:
    """A pipeline as the managers see one: components that are torch modules, some absent."""
    def __init__(self, **parts):
        for name, module in parts.items():
            setattr(self, name, module)

    def to(self, device):
        self.moved_to = device


def test_parameter_bytes_counts_the_named_components_that_exist():
    import torch
    pipe = Pipe(unet=torch.nn.Linear(4, 4), vae=torch.nn.Linear(2, 2).half())
    assert parameter_bytes(pipe, ("unet",)) == (16 + 4) * 4
    assert parameter_bytes(pipe, ("unet", "vae", "text_encoder")) == (16 + 4) * 4 + (4 + 2) * 2


def test_place_aligns_cpu_weights_at_odd_addresses_and_moves_a_gpu_pipeline():
    import torch
    storage = torch.arange(40, dtype=torch.float32)
    unet = torch.nn.Linear(4, 4)
    unet.weight.data = storage[1:17].view(4, 4)  # 4 bytes into its storage, as inside a .safetensors file
    assert unet.weight.data_ptr() % 64
    pipe = Pipe(unet=unet)
    assert place(pipe, "cpu", ("unet", "vae")) >= 1
    assert unet.weight.data_ptr() % 64 == 0 and torch.equal(unet.weight, storage[1:17].view(4, 4))  # same values
    assert place(pipe, "cpu", ("unet",)) == 0 and not hasattr(pipe, "moved_to")  # aligned already
    assert place(pipe, "cuda", ("unet",)) == 0 and pipe.moved_to == "cuda"  # weights still on the CPU: moved


def test_adapter_layers_set_aside_and_put_back():
    import torch
    from peft import LoraConfig, inject_adapter_in_model

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4))

    net = inject_adapter_in_model(LoraConfig(r=2, target_modules=["inner.0", "inner.2"]), Net())
    layers = adapter_layers(net)
    assert [(type(parent).__name__, attr) for parent, attr, _ in layers] == [("Sequential", "0"), ("Sequential", "2")]
    stripped = set_aside(layers)
    assert type(net.inner[0]) is torch.nn.Linear and adapter_layers(net) == []  # plain layers while set aside
    put_back(stripped)
    assert [layer for _, _, layer in adapter_layers(net)] == [layer for _, _, layer in layers]
