"""The disk tier: survives restarts, detects corruption, stays within its cap."""
import json

from core_helpers import cli, link, wf, write

from nodegraph.run.cache import Cache, CacheEntry, DiskTier


def tensor_workflow(seed=3):
    return wf(r=("RandomTensor", {"seed": seed, "size": 16}),
              s=("ScaleTensor", {"latent": link("r", "latent"), "factor": 0.5}),
              show=("Show", {"value": link("s", "latent")}))


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_second_process_serves_tensors_from_disk_and_recomputes_truncated_entries(tmp_path, plugin_dir):
    path = write(tmp_path / "w.json", tensor_workflow())
    args = ["run", str(path), "--cache-dir", str(tmp_path / "cache"), "--events", "jsonl",
            "--plugins", str(plugin_dir), "--out", str(tmp_path / "out")]
    first = cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert {e["node"] for e in events(first.stdout) if e["event"] == "executed"} == {"r", "s", "show"}

    second = cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    evs = events(second.stdout)
    assert {e["node"] for e in evs if e["event"] == "cached"} == {"r", "s", "show"}
    assert evs[-1]["event"] == "done" and evs[-1]["executed"] == 0 and evs[-1]["cached"] == 3

    # Truncate every tensor file: the next process must notice, recompute and rewrite.
    tensor_files = list((tmp_path / "cache").glob("*/*.safetensors"))
    assert len(tensor_files) == 2
    for f in tensor_files:
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])
    third = cli(*args, cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    evs = events(third.stdout)
    assert {e["node"] for e in evs if e["event"] == "executed"} == {"r", "s"}
    assert {e["node"] for e in evs if e["event"] == "cached"} == {"show"}
    shows = [e["ui"]["text"] for e in events(first.stdout) + evs if e.get("node") == "show" and "ui" in e]
    assert len(set(shows)) == 1  # same value as the first run

    fourth = cli(*args, cwd=tmp_path)
    assert events(fourth.stdout)[-1]["cached"] == 3  # rewritten entries are good again


def test_no_cache_flag_turns_both_tiers_off(tmp_path, plugin_dir):
    path = write(tmp_path / "w.json", tensor_workflow())
    args = ["run", str(path), "--no-cache", "--cache-dir", str(tmp_path / "cache"), "--events", "jsonl",
            "--plugins", str(plugin_dir)]
    for _ in range(2):
        out = cli(*args, cwd=tmp_path)
        assert events(out.stdout)[-1]["executed"] == 3
    assert not (tmp_path / "cache").exists()


def test_corrupt_metadata_and_tampered_tensors_are_misses(tmp_path):
    import torch
    tier = DiskTier(tmp_path)
    tier.put("k1", CacheEntry({"x": torch.arange(10.0), "n": 3, "d": {"a": torch.ones(2)}}))
    tier.put("k2", CacheEntry({"x": torch.arange(4.0)}))
    got = tier.get("k1")
    assert torch.equal(got.outputs["x"], torch.arange(10.0)) and got.outputs["n"] == 3
    assert torch.equal(got.outputs["d"]["a"], torch.ones(2))
    meta, data = tier._paths("k1")
    meta.write_text("{not json")
    assert tier.get("k1") is None and not meta.exists()
    _, data2 = tier._paths("k2")
    blob = bytearray(data2.read_bytes())
    blob[-1] ^= 0xFF  # same size, different content
    data2.write_bytes(bytes(blob))
    assert tier.get("k2") is None


def test_disk_tier_evicts_least_recently_used_within_its_cap(tmp_path):
    import os
    import time
    import torch
    tier = DiskTier(tmp_path, max_bytes=3 * 4800)
    for i, key in enumerate(["a", "b", "c"]):
        tier.put(key, CacheEntry({"x": torch.zeros(1000) + i}))
        os.utime(tier._paths(key)[0], (time.time() - 100 + i, time.time() - 100 + i))
        os.utime(tier._paths(key)[1], (time.time() - 100 + i, time.time() - 100 + i))
    assert tier.get("a") is not None  # touch: a becomes the most recent
    tier.put("d", CacheEntry({"x": torch.zeros(1000)}))
    assert tier.bytes <= tier.max_bytes
    assert tier.get("b") is None
    assert tier.get("a") is not None and tier.get("d") is not None


def test_model_handles_stay_in_memory(tmp_path):
    cache = Cache(disk_dir=tmp_path)
    cache.put("k", CacheEntry({"model": object()}), persist=False)
    assert cache.get("k")[1] == "memory"
    assert not list(tmp_path.glob("*/*"))
