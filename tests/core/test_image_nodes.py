"""Image basics and provenance: load from the input folder, resize, save with the workflow inside."""
import json

from core_helpers import link, wf
from PIL import Image

from nodegraph_nodes.basic.image import PNG_PROVENANCE_KEY, read_png_workflow


def test_load_resize_save_roundtrip_embeds_workflow_and_provenance(session, env):
    Image.new("RGB", (20, 10), (255, 0, 0)).save(env.files.input_dir / "red.png")
    workflow = wf(l=("LoadImage", {"image": "red.png"}),
                  r=("ResizeImage", {"image": link("l", "image"), "width": 8, "height": 4}),
                  s=("SaveImage", {"images": link("r", "image"), "prefix": "out"}))
    result = session.run(workflow)
    assert result.ok, result.error
    (path,) = result.outputs
    with Image.open(path) as img:
        assert img.size == (8, 4) and img.getpixel((3, 2)) == (255, 0, 0)
        provenance = json.loads(img.info[PNG_PROVENANCE_KEY])
    assert read_png_workflow(path) == session.prepare(workflow).graph.workflow.to_json()
    assert provenance["nodes"]["r"] == {"type": "ResizeImage", "version": 1, "plugin": "builtin.basic"}
    import hashlib
    expected = hashlib.sha256((env.files.input_dir / "red.png").read_bytes()).hexdigest()
    assert provenance["files"]["l.image"]["sha256"] == expected


def test_changing_an_input_file_invalidates_its_cache_entry(session, env):
    src = env.files.input_dir / "img.png"
    Image.new("RGB", (4, 4), (0, 0, 255)).save(src)
    workflow = wf(l=("LoadImage", {"image": "img.png"}), s=("SaveImage", {"images": link("l", "image")}))
    first = session.run(workflow)
    assert session.run(workflow).executed == []
    import os
    Image.new("RGB", (4, 4), (0, 255, 0)).save(src)
    os.utime(src, ns=(1, 1))
    again = session.run(workflow)
    assert again.executed == ["l", "s"] and again.outputs != first.outputs


def test_deleted_output_file_is_written_again(session):
    workflow = wf(i=("SolidImage", {}), s=("SaveImage", {"images": link("i", "image")}))
    (path,) = session.run(workflow).outputs
    import os
    os.remove(path)
    again = session.run(workflow)
    assert again.executed == ["s"] and os.path.exists(path)


def test_a_png_made_by_nodegraph_runs_again_as_a_workflow(tmp_path):
    from core_helpers import cli, write
    path = write(tmp_path / "w.json", wf(i=("SolidImage", {"width": 8, "height": 8, "red": 0.25}),
                                         s=("SaveImage", {"images": link("i", "image"), "prefix": "p"})))
    first = cli("run", str(path), "--no-cache", "--out", str(tmp_path / "a"), "--events", "jsonl")
    png = json.loads(first.stdout.splitlines()[-1])["outputs"][0]
    again = cli("run", png, "--no-cache", "--out", str(tmp_path / "b"), "--events", "jsonl")
    assert again.returncode == 0, again.stderr
    png2 = json.loads(again.stdout.splitlines()[-1])["outputs"][0]
    assert open(png, "rb").read() == open(png2, "rb").read()
    plain = tmp_path / "plain.png"
    Image.new("RGB", (2, 2)).save(plain)
    out = cli("validate", str(plain))
    assert out.returncode == 2 and "without an embedded nodegraph workflow" in out.stdout
