"""Built demo assets (nodegraph.files.demo_build): made once, whole or not at all, described as DemoAssets."""
import pytest

from nodegraph.files.demo_build import build_once, build_recipe, materialise, recipe_assets


def test_a_folder_or_a_file_is_built_once_and_renamed_into_place(tmp_path):
    calls = []

    def make_folder(path):
        calls.append(path)
        path.mkdir()
        (path / "model_index.json").write_text("{}")

    target = build_once(tmp_path / "demo" / "model-v1", make_folder)
    assert target == tmp_path / "demo" / "model-v1" and (target / "model_index.json").read_text() == "{}"
    assert calls[0].name == "model-v1" and calls[0].parent != target.parent  # made in a staging folder
    assert build_once(target, make_folder) == target and len(calls) == 1  # built already: not made again
    lora = build_once(tmp_path / "demo" / "lora.safetensors", lambda path: path.write_bytes(b"weights"))
    assert lora.read_bytes() == b"weights"
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["lora.safetensors", "model-v1"]  # no leftovers


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    def half_then_crash(path):
        path.mkdir()
        (path / "unet.safetensors").write_bytes(b"half")
        raise RuntimeError("out of disk")

    with pytest.raises(RuntimeError, match="out of disk"):
        build_once(tmp_path / "model-v1", half_then_crash)
    assert list(tmp_path.iterdir()) == []  # the next run builds it again instead of loading half a model


def test_a_concurrent_builder_that_finished_first_is_kept(tmp_path):
    target = tmp_path / "model-v1"

    def racing(path):
        path.mkdir()
        (path / "mine").write_text("late")
        target.mkdir()  # another process renamed its whole folder into place meanwhile
        (target / "theirs").write_text("first")

    assert build_once(target, racing) == target
    assert [p.name for p in target.iterdir()] == ["theirs"] and len(list(tmp_path.iterdir())) == 1


def test_recipe_assets_locate_and_build_under_the_demo_folder(tmp_path):
    recipes = {"tiny": {"kind": "checkpoint", "path": "tiny-v2"}, "style": {"kind": "lora", "path": "style-v2.bin"}}

    def build(name, demo_dir):
        return build_once(demo_dir / recipes[name]["path"], lambda path: path.write_text(name))

    assets = recipe_assets(recipes, build, "v2", {"tiny": "a tiny model"})
    assert [(a.value, a.kind, a.version, a.description) for a in assets] == [
        ("demo:tiny", "checkpoint", "v2", "a tiny model"), ("demo:style", "lora", "v2", "")]
    assert assets[1].locate(tmp_path) is None  # locating never builds
    assert materialise(assets, "demo:style", tmp_path) == tmp_path / "style-v2.bin"
    assert assets[1].locate(tmp_path) == tmp_path / "style-v2.bin" and assets[0].locate(tmp_path) is None
    assert materialise(assets, "tiny", tmp_path).read_text() == "tiny"
    with pytest.raises(KeyError, match="demo:nothing"):
        materialise(assets, "demo:nothing", tmp_path)


def test_a_recipe_table_builds_each_demo_by_its_kind_once(tmp_path):
    recipes = {"base": {"kind": "checkpoint", "path": "base-v1"},
               "lora": {"kind": "lora", "path": "lora-v1.safetensors", "seed": 7}}
    made = []

    def checkpoint(demo_dir, recipe, path):
        made.append(recipe["path"])
        path.mkdir()

    def lora(demo_dir, recipe, path):  # a LoRA starts from its base, built through the same table
        base = build_recipe(recipes, "base", demo_dir, makers)
        made.append(recipe["path"])
        path.write_text(f"{base.name} seed {recipe['seed']}")

    makers = {"checkpoint": checkpoint, "lora": lora}
    built = build_recipe(recipes, "lora", tmp_path, makers)
    assert built == tmp_path / "lora-v1.safetensors" and built.read_text() == "base-v1 seed 7"
    assert build_recipe(recipes, "base", tmp_path, makers).is_dir()
    assert build_recipe(recipes, "lora", tmp_path, makers) == built and made == ["base-v1", "lora-v1.safetensors"]
