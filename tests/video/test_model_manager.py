"""The video model manager: warm across jobs, least-recently-used eviction within the budget,
handles that are plain immutable data."""
from __future__ import annotations

import pickle
import shutil

from nodegraph.run.cache import Cache

from .conftest import edit, run, workflow


def test_lru_eviction_within_the_memory_budget(demo_paths, tmp_path):
    from nodegraph_nodes.video.model_manager import ModelSource, VideoModelHandle, VideoModelManager
    copy = tmp_path / "copy-of-tiny-svd"
    shutil.copytree(demo_paths["tiny-svd"], copy)
    one = ModelSource("diffusers", str(demo_paths["tiny-svd"]), "a", "demo")
    two = ModelSource("diffusers", str(copy), "b", "copy")
    tight = VideoModelManager(memory_budget=1)  # smaller than any model: keep only the one in use
    for source in (one, two):
        with tight.use(VideoModelHandle(source), patched=False):
            pass
    assert tight.loaded() == [two] and tight.stats["evictions"] == 1
    roomy = VideoModelManager(memory_budget=1 << 30)
    for source in (one, two, one):
        with roomy.use(VideoModelHandle(source), patched=False):
            pass
    assert roomy.loaded() == [two, one] and roomy.stats["pipeline_loads"] == 2


def test_a_second_job_reuses_the_warm_fused_pipeline_and_handles_are_data(make_session, manager):
    session = make_session(cache=Cache(memory_bytes=1 << 30))
    first, _ = run(session, edit(workflow(), handle="camera.model"))
    assert first.ok, first.error
    before = dict(manager.stats)
    again, _ = run(session, workflow(svd__seed=7))  # a new clip, same model and LoRA
    assert again.ok, again.error
    assert {k: manager.stats[k] - before[k] for k in before} == {k: 0 for k in before}  # no load, no re-merge
    handle = first.values["handle"]["value"]
    assert handle.fuse and pickle.loads(pickle.dumps(handle)) == handle
