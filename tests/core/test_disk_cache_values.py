"""Disk-tier values beyond tensors and JSON: opted-in dataclasses, and tensors decoded on use."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from nodegraph.run.cache import Cache, CacheEntry, DiskTier, LazyOutputs


@dataclass(frozen=True)
class Source:
    __cache_persist__ = True
    path: str
    strength: float


@dataclass(frozen=True)
class Handle:
    __cache_persist__ = True
    source: Source
    patches: tuple[Source, ...] = ()


class Pack:
    @dataclass(frozen=True)
    class Embedding:  # nested: stored under its qualified name, Pack.Embedding
        __cache_persist__ = True
        name: str
        vector: torch.Tensor  # tensor fields travel in the entry's tensor file, each under its own name
        mask: torch.Tensor


@dataclass(frozen=True)
class NotOptedIn:
    path: str


def test_opted_in_dataclasses_come_back_equal_from_a_new_tier(tmp_path):
    handle = Handle(Source("/m/base", 1.0), (Source("/m/a.safetensors", 0.8), Source("/m/b.safetensors", -0.5)))
    Cache(disk_dir=tmp_path).put("k", CacheEntry({"model": handle, "latent": torch.arange(6.0)}), persist=True)
    entry, tier = Cache(disk_dir=tmp_path).get("k")  # as the next process would
    assert tier == "disk" and entry.outputs["model"] == handle
    assert isinstance(entry.outputs["model"].patches, tuple)
    assert torch.equal(entry.outputs["latent"], torch.arange(6.0))


def test_a_nested_class_with_a_tensor_field_comes_back_from_a_new_tier(tmp_path):
    embedding = Pack.Embedding("style", torch.linspace(0, 1, 5), torch.tensor([1, 0, 1]))
    Cache(disk_dir=tmp_path).put("k", CacheEntry({"embedding": embedding}), persist=True)
    entry, tier = Cache(disk_dir=tmp_path).get("k")
    got = entry.outputs["embedding"]
    assert tier == "disk" and type(got) is Pack.Embedding and got.name == "style"
    assert torch.equal(got.vector, embedding.vector) and torch.equal(got.mask, embedding.mask)


def test_a_class_that_did_not_opt_in_stays_in_memory(tmp_path):
    cache = Cache(disk_dir=tmp_path)
    cache.put("k", CacheEntry({"model": NotOptedIn("/m")}), persist=True)
    assert list(tmp_path.rglob("k.*")) == []  # nothing of it is written
    assert cache.get("k")[1] == "memory" and Cache(disk_dir=tmp_path).get("k") == (None, None)


def test_a_stored_class_name_that_is_not_persistable_is_a_miss(tmp_path):
    tier = DiskTier(tmp_path)
    tier.put("k", CacheEntry({"model": Source("/m", 1.0)}))
    (meta,) = tmp_path.glob("*/k.json")
    meta.write_text(meta.read_text().replace(f"{__name__}:Source", f"{__name__}:NotOptedIn"))
    assert tier.get("k") is None and not meta.exists()  # refused when read, not when used


@pytest.mark.parametrize("where", ["field", "tuple"])
def test_an_entry_naming_a_class_that_no_longer_exists_is_a_miss(tmp_path, where):
    """A newer version of a pack renamed a class that an older run stored inside a handle."""
    tier = DiskTier(tmp_path)
    tier.put("k", CacheEntry({"model": Handle(Source("/m/base", 1.0), (Source("/m/a", 0.5),))}))
    (meta,) = tmp_path.glob("*/k.json")
    text, old = meta.read_text(), f"{__name__}:Source"
    at = text.index(old) if where == "field" else text.rindex(old)  # the base model, or its one patch
    meta.write_text(text[:at] + f"{__name__}:RenamedSource" + text[at + len(old):])
    assert tier.get("k") is None and not meta.exists()  # a miss now, not an error when the value is used


def test_tensors_are_checked_when_read_and_decoded_on_first_use(tmp_path):
    tier = DiskTier(tmp_path)
    tier.put("k", CacheEntry({"latent": torch.ones(4), "n": 3}, files=(), ui={"text": "x"}))
    entry = tier.get("k")
    assert isinstance(entry.outputs, LazyOutputs) and entry.outputs._values is None  # nothing decoded yet
    assert entry.ui == {"text": "x"} and sorted(entry.outputs) == ["latent", "n"]
    assert torch.equal(entry.outputs["latent"], torch.ones(4)) and entry.outputs["n"] == 3
    (data,) = tmp_path.glob("*/k.safetensors")
    data.write_bytes(data.read_bytes()[:-3])
    assert tier.get("k") is None  # a damaged tensor file is a miss at once, not an error later
