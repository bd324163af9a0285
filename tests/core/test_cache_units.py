"""Disk tier in-process: exact round trips, corruption treated as a miss, byte accounting, eviction;
the memory tier's budget: what an entry costs, keys stored again, least recently used first."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch

from nodegraph.run.cache import _OBJECT_BYTES, Cache, CacheEntry, DiskTier, MemoryTier, NotStorable, _encode_value

KEY = "ab" + "0" * 38


def key(n: int, prefix: str = "ab") -> str:
    return f"{prefix}{n:038d}"


def on_disk(tier: DiskTier) -> int:
    return sum(p.stat().st_size for p in tier.dir.glob("*/*") if p.is_file())


def test_nested_values_round_trip_with_their_types(tmp_path):
    t1, t2, t3 = torch.arange(6.0).reshape(2, 3), torch.ones(2, dtype=torch.int64), torch.zeros(1)
    outputs = {"nested": (1, [2.5, (t1, t2)], {"x": t3, "n": None, "s": "txt", "b": True}),
               "plain": [1, 2], "tup": (), "none": None, "d": {"inner": {"deep": [t2]}}}
    tier = DiskTier(tmp_path / "c")
    assert tier.put(KEY, CacheEntry(outputs, files=("/out/a.png",), ui={"images": ["a.png"]})) is True
    got = DiskTier(tmp_path / "c").get(KEY)  # a fresh process reads the same entry
    nested = got.outputs["nested"]
    assert type(nested) is tuple and type(nested[1]) is list and type(nested[1][1]) is tuple
    assert nested[0] == 1 and nested[1][0] == 2.5
    assert torch.equal(nested[1][1][0], t1) and torch.equal(nested[1][1][1], t2)
    assert nested[1][1][1].dtype == torch.int64
    assert torch.equal(nested[2]["x"], t3) and nested[2]["n"] is None and nested[2]["s"] == "txt"
    assert nested[2]["b"] is True
    assert got.outputs["plain"] == [1, 2] and type(got.outputs["plain"]) is list
    assert got.outputs["tup"] == () and got.outputs["none"] is None
    assert torch.equal(got.outputs["d"]["inner"]["deep"][0], t2)
    assert got.files == ("/out/a.png",) and got.ui == {"images": ["a.png"]}


def test_entry_without_tensors_or_extras(tmp_path):
    tier = DiskTier(tmp_path)
    assert tier.put(KEY, CacheEntry({"text": "hi", "n": [1, (2,)]}))
    got = tier.get(KEY)
    assert got.outputs == {"text": "hi", "n": [1, (2,)]} and got.files == () and got.ui == {}
    assert (tmp_path / "ab" / f"{KEY}.json").is_file()  # documented layout: <dir>/<key[:2]>/<key>.json
    assert not (tmp_path / "ab" / f"{KEY}.safetensors").exists()


@pytest.mark.parametrize("value", [np.zeros(3), {1: "int key"}, {"a"}, object(), [1, {2: 3}]])
def test_values_that_cannot_live_on_disk_stay_in_memory(tmp_path, value):
    tier = DiskTier(tmp_path / "d")
    assert tier.put(KEY, CacheEntry({"v": value})) is False
    assert tier.get(KEY) is None and tier.bytes == 0
    cache = Cache(disk_dir=tmp_path / "c")
    cache.put(KEY, CacheEntry({"v": value}), persist=True)
    assert cache.get(KEY)[1] == "memory"


def test_not_storable_names_the_type():
    with pytest.raises(NotStorable, match="^ndarray$"):
        _encode_value(np.zeros(2), "v", {})


def test_ui_that_is_not_json_is_not_stored(tmp_path):
    tier = DiskTier(tmp_path)
    assert tier.put(KEY, CacheEntry({"t": "x"}, ui={"bad": {1, 2}})) is False
    assert tier.get(KEY) is None


def corrupt_cases():
    def truncate(meta, data):
        data.write_bytes(data.read_bytes()[:-3])

    def flip(meta, data):
        blob = bytearray(data.read_bytes())
        blob[-1] ^= 0xFF
        data.write_bytes(bytes(blob))

    def bad_json(meta, data):
        meta.write_text("{not json")

    def wrong_hash(meta, data):
        m = json.loads(meta.read_text())
        m["tensor_file"]["hash"] = "0" * 40
        meta.write_text(json.dumps(m))

    def no_outputs(meta, data):
        m = json.loads(meta.read_text())
        del m["outputs"]
        meta.write_text(json.dumps(m))

    def tensor_gone(meta, data):
        data.unlink()

    return [truncate, flip, bad_json, wrong_hash, no_outputs, tensor_gone]


@pytest.mark.parametrize("damage", corrupt_cases(), ids=lambda f: f.__name__)
def test_corrupt_entry_is_a_miss_removed_and_rebuilt(tmp_path, damage):
    tier = DiskTier(tmp_path)
    tier.put(KEY, CacheEntry({"img": torch.rand(2, 2)}))
    meta, data = tmp_path / "ab" / f"{KEY}.json", tmp_path / "ab" / f"{KEY}.safetensors"
    damage(meta, data)
    tier = DiskTier(tmp_path)  # accounting restarts from what is on disk
    assert tier.get(KEY) is None
    assert not meta.exists() and not data.exists()
    assert tier.bytes == on_disk(tier) == 0
    fresh = torch.rand(2, 2)
    assert tier.put(KEY, CacheEntry({"img": fresh}))
    assert torch.equal(tier.get(KEY).outputs["img"], fresh)


def test_missing_entry_is_a_plain_miss(tmp_path):
    tier = DiskTier(tmp_path)
    tier.put(key(1), CacheEntry({"v": 1}))
    assert tier.get(key(2)) is None
    assert tier.get(key(1)).outputs == {"v": 1}


def test_byte_accounting_matches_the_disk(tmp_path):
    tier = DiskTier(tmp_path / "new" / "nested")  # parents created
    tier.put(key(1), CacheEntry({"t": torch.rand(16)}))
    tier.put(key(2), CacheEntry({"s": "x" * 100}))  # same sub-folder as key(1)
    tier.put(key(3, "cd"), CacheEntry({"t": torch.rand(4)}))
    assert tier.bytes == on_disk(tier) > 0
    assert DiskTier(tmp_path / "new" / "nested").bytes == tier.bytes
    (tier.dir / "ab" / f"{key(2)}.json").write_text("garbage")
    assert tier.get(key(2)) is None
    assert DiskTier(tier.dir).bytes == on_disk(tier)
    tier2 = DiskTier(tier.dir)
    tier2.get(key(2))
    assert tier2.bytes == on_disk(tier2)


def test_folder_removed_while_running_is_recreated(tmp_path):
    tier = DiskTier(tmp_path / "c")
    shutil.rmtree(tmp_path / "c")
    assert tier.put(KEY, CacheEntry({"v": 1}))
    assert tier.get(KEY).outputs == {"v": 1}


def age(tier: DiskTier, k: str, t: float) -> None:
    for p in tier.dir.glob(f"*/{k}.*"):
        os.utime(p, (t, t))


def test_eviction_drops_least_recently_used_down_to_90_percent(tmp_path):
    tier = DiskTier(tmp_path, max_bytes=10**9)
    keys = [key(i, f"{i:02d}") for i in range(10)]
    for i, k in enumerate(keys):
        tier.put(k, CacheEntry({"t": torch.zeros(250)}))  # ~1 KB each
        age(tier, k, 1_000_000 + i)
    assert tier.get(keys[0]) is not None  # a hit makes the oldest the newest
    per_entry = on_disk(tier) // 10
    tier.max_bytes = on_disk(tier) + per_entry // 2
    tier.put(key(99, "99"), CacheEntry({"t": torch.zeros(250)}))
    left = {k for k in keys + [key(99, "99")] if tier.get(k) is not None}
    assert tier.bytes == on_disk(tier) <= tier.max_bytes * 0.9
    assert tier.bytes > tier.max_bytes * 0.9 - per_entry - 1  # stops as soon as it is under 90%
    assert keys[0] in left and key(99, "99") in left
    evicted = [k for k in keys if k not in left]
    assert evicted == keys[1:1 + len(evicted)] and len(evicted) >= 2


def test_no_eviction_at_exactly_the_cap(tmp_path):
    probe = DiskTier(tmp_path / "probe")
    probe.put(key(1), CacheEntry({"v": "a"}))
    probe.put(key(2), CacheEntry({"v": "b"}))
    tier = DiskTier(tmp_path / "c", max_bytes=on_disk(probe))
    tier.put(key(1), CacheEntry({"v": "a"}))
    tier.put(key(2), CacheEntry({"v": "b"}))
    assert tier.bytes == tier.max_bytes
    assert tier.get(key(1)) and tier.get(key(2))


def test_one_tensor_in_two_outputs_is_stored(tmp_path):
    image = torch.rand(3, 4)
    tier = DiskTier(tmp_path)
    assert tier.put(KEY, CacheEntry({"image": image, "same": image, "view": image[0]}))
    got = tier.get(KEY).outputs
    assert torch.equal(got["image"], image) and torch.equal(got["same"], image)
    assert torch.equal(got["view"], image[0])


def test_eviction_of_json_only_entries_and_orphan_tensor_files(tmp_path):
    tier = DiskTier(tmp_path)
    orphan = tmp_path / "ff" / f"{key(7, 'ff')}.safetensors"  # a crash between the two writes
    orphan.parent.mkdir()
    orphan.write_bytes(b"\0" * 4000)
    os.utime(orphan, (1, 1))
    tier = DiskTier(tmp_path, max_bytes=4000)
    tier.put(key(1), CacheEntry({"v": "x" * 50}))
    assert not orphan.exists()
    assert tier.get(key(1)).outputs == {"v": "x" * 50}
    small = DiskTier(tmp_path / "s", max_bytes=200)
    for i in range(6):
        small.put(key(i), CacheEntry({"v": "y" * 40}))
        age(small, key(i), 1000 + i)
    assert small.bytes == on_disk(small) <= 200
    assert small.get(key(5)) is not None and small.get(key(0)) is None


def test_memory_tier_clear_resets_the_budget():
    tier = MemoryTier(max_bytes=10_000)
    tier.put("a", CacheEntry({"t": torch.zeros(100)}))
    assert tier.bytes > 0
    tier.clear()
    assert tier.bytes == 0 and len(tier) == 0 and tier.get("a") is None


@pytest.mark.parametrize("value", [torch.zeros(2500), np.zeros(1250), {"t": torch.zeros(2500)}, [torch.zeros(2500)],
                                   ("x", torch.zeros(2500)), "x" * 10_000, b"x" * 10_000],
                         ids=["tensor", "ndarray", "dict", "list", "tuple", "str", "bytes"])
def test_an_output_bigger_than_the_memory_budget_is_not_kept(value):
    tier = MemoryTier(max_bytes=5_000)  # every value above holds 10 KB
    tier.put("big", CacheEntry({"v": value}))
    assert tier.get("big") is None and tier.bytes == 0 and len(tier) == 0


def test_memory_tier_keeps_the_newest_entries_within_its_budget():
    probe = MemoryTier()
    probe.put("one", CacheEntry({"t": torch.zeros(250)}))
    size = probe.bytes  # one 1 KB entry with its bookkeeping
    tier = MemoryTier(max_bytes=2 * size)
    for name in ("a", "b"):
        tier.put(name, CacheEntry({"t": torch.zeros(250)}))
    assert len(tier) == 2 and tier.bytes == 2 * size  # exactly at the budget: both kept
    for _ in range(3):  # storing one key again replaces it, never counted twice
        tier.put("b", CacheEntry({"t": torch.zeros(250)}))
    assert tier.get("a") is not None and tier.bytes == 2 * size
    tier.put("c", CacheEntry({"t": torch.zeros(250)}))
    tier.put("d", CacheEntry({"t": torch.zeros(250)}))
    assert [k for k in "abcd" if tier.get(k) is not None] == ["c", "d"] and tier.bytes == 2 * size


def test_a_disk_hit_is_kept_in_memory_and_the_disk_budget_is_the_one_given(tmp_path):
    Cache(disk_dir=tmp_path / "c").put(KEY, CacheEntry({"t": torch.zeros(4)}), persist=True)
    cache = Cache(disk_dir=tmp_path / "c")
    assert cache.get(KEY)[1] == "disk" and cache.get(KEY)[1] == "memory"
    small = Cache(disk_dir=tmp_path / "s", disk_bytes=3_000)
    for i in range(5):
        small.put(key(i), CacheEntry({"t": torch.zeros(250)}), persist=True)  # ~1.1 KB on disk each
    assert on_disk(small.disk) <= 3_000



def entry_size(entry: CacheEntry) -> int:
    """What one entry costs in a memory tier's budget, as the tier counts it."""
    probe = MemoryTier()
    probe.put("probe", entry)
    return probe.bytes


def test_storing_a_key_again_counts_it_once_and_makes_it_the_newest():
    size = entry_size(CacheEntry({"t": torch.zeros(250)}))
    tier = MemoryTier(max_bytes=3 * size)
    for name in ("a", "b", "c"):
        tier.put(name, CacheEntry({"t": torch.zeros(250)}))
    tier.put("a", CacheEntry({"t": torch.zeros(250)}))  # 'a' recomputed: stored again, now the newest
    assert len(tier) == 3 and tier.bytes == 3 * size
    tier.put("d", CacheEntry({"t": torch.zeros(250)}))  # over budget: the least recently used goes
    assert [k for k in "abcd" if k in tier] == ["a", "c", "d"] and tier.bytes == 3 * size
    # Stored again with a bigger value: only the new size counts, and room is made for it.
    big = entry_size(CacheEntry({"t": torch.zeros(500)}))
    tier.put("c", CacheEntry({"t": torch.zeros(500)}))
    assert [k for k in "abcd" if k in tier] == ["c", "d"] and tier.bytes == size + big <= 3 * size


def test_an_output_of_exactly_the_memory_budget_is_kept():
    entry = CacheEntry({"t": torch.zeros(250)})
    tier = MemoryTier(max_bytes=entry_size(entry))
    tier.put("a", entry)
    assert tier.get("a") is entry and tier.bytes == tier.max_bytes


def test_the_memory_budget_counts_every_byte_of_the_tensors():
    tier = MemoryTier(max_bytes=1_500)
    tier.put("a", CacheEntry({"t": torch.zeros(250)}))  # 1,000 bytes of tensor each:
    tier.put("b", CacheEntry({"t": torch.zeros(250)}))  # the two alone are over the budget
    assert [k for k in "ab" if k in tier] == ["b"] and tier.bytes > 1_000


def test_a_disk_hit_counts_its_tensor_file_and_each_output_in_the_memory_budget(tmp_path):
    disk = DiskTier(tmp_path / "c")
    disk.put(KEY, CacheEntry({"latent": torch.zeros(250), "seed": 7}))
    hit = disk.get(KEY)  # its tensors are not decoded yet
    tensor_file = (tmp_path / "c" / "ab" / f"{KEY}.safetensors").stat().st_size
    size = tensor_file + _OBJECT_BYTES * 3  # the entry, and each of its two outputs
    fits, short = MemoryTier(max_bytes=size), MemoryTier(max_bytes=size - 1)
    fits.put(KEY, hit)
    short.put(KEY, hit)
    assert fits.get(KEY) is hit and fits.bytes == size
    assert short.get(KEY) is None and short.bytes == 0
