"""ComfyUI custom-node packs under the Ray executor: their nodes (classes generated when the pack
loaded, which no worker can import) run on the driver; nodegraph's own nodes around them still
run on the cluster, list semantics included."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from nodegraph.api.plugins import load_registry
from nodegraph.files.roots import FileRoots
from nodegraph.run.cache import Cache
from nodegraph.run.context import Environment
from nodegraph.run.session import Session
from ray_helpers import placed, run, wf

PACKS = Path(__file__).resolve().parents[1] / "comfy_nodes" / "packs"


def test_pack_nodes_run_on_the_driver_and_ours_around_them_on_the_cluster(executor, tmp_path):
    registry = load_registry(use_env=False, pack_folders={"comfy": [PACKS]})
    env = Environment(files=FileRoots(input_dir=tmp_path, models_dir=tmp_path, output_dir=tmp_path / "out"),
                      device="cpu")
    session = Session(registry, env=env, cache=Cache(enabled=False), executor=executor)
    result, sink = run(session, wf(s=("SolidImage", {"width": 8, "height": 4, "red": 0.2, "green": 0.2, "blue": 0.2}),
                                   inv=("ToolsInvert", {"image": "@s.image"}),
                                   rep=("ToolsRepeatBatch", {"image": "@inv.image", "amount": 3}),
                                   split=("ToolsSplitBatch", {"images": "@rep.image"}),
                                   save=("SaveImage", {"images": "@split.images"})))
    assert result.ok, result.error
    where = placed(sink)
    assert "s" in where and not {"inv", "rep", "split"} & set(where)  # SolidImage on a worker, pack nodes here
    values = []
    for path in result.outputs:
        with Image.open(path) as picture:
            values.append(picture.getpixel((0, 0))[0])
    assert sorted(values) == [163, 184, 204]  # 1 - 0.2 = 0.8, then 0.8 * (1, 0.9, 0.8)
