"""ComfyUI node packs installed with pip: a distribution that declares its package in the
entry-point group ``comfyui_legacy.custom_nodes`` (as the packs published for pip-installed
ComfyUI do) loads as if its folder were in a custom_nodes folder, with no option given; its
removal is noticed too. The distribution here is the test pack ``image_tools`` laid out as pip
installs a wheel (package folder + ``.dist-info``) in a folder put on the path."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image

from comfy_nodes_helpers import PACKS, cli, link, workflow

PACKAGE = "ng_test_image_tools"
JOB = workflow(
    s=("SolidImage", {"width": 8, "height": 8, "red": 0.2, "green": 0.4, "blue": 0.6}),
    inv=("ToolsInvert", {"image": link("s", "image")}),
    save=("SaveImage", {"images": link("inv", "image"), "prefix": "installed"}),
)


def _install(site: Path) -> Path:
    """The pack as pip lays a wheel out: its package and a dist-info naming the entry point."""
    shutil.copytree(PACKS / "image_tools", site / PACKAGE)
    info = site / f"{PACKAGE}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[comfyui_legacy.custom_nodes]\n{PACKAGE} = {PACKAGE}\n")
    return info


def test_a_pip_installed_comfyui_pack_loads_without_options_and_its_removal_is_noticed(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    info = _install(site)
    env = {"PYTHONPATH": str(site), "NODEGRAPH_CACHE_DIR": str(tmp_path / "cache")}
    path = tmp_path / "job.json"
    path.write_text(json.dumps(JOB))

    nodes = cli("nodes", "--json", cwd=tmp_path, env=env)
    assert nodes.returncode == 0, nodes.stderr
    catalogue = json.loads(nodes.stdout)
    invert = {n["type"]: n for n in catalogue["nodes"]}["ToolsInvert"]
    assert invert["plugin"] == f"comfy:{PACKAGE}"
    assert cli("validate", str(path), cwd=tmp_path, env=env).returncode == 0

    run = cli("run", str(path), "--no-cache", "--out", str(tmp_path / "out"), "--device", "cpu", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    (saved,) = (tmp_path / "out").glob("installed_*.png")
    assert Image.open(saved).convert("RGB").getpixel((0, 0)) == (204, 153, 102)  # 1 - (0.2, 0.4, 0.6)

    shutil.rmtree(info)  # pip uninstall: the distribution is gone (its stored entry points with it)
    shutil.rmtree(site / PACKAGE)
    gone = cli("validate", str(path), cwd=tmp_path, env=env)
    assert gone.returncode == 2 and "ToolsInvert" in gone.stdout + gone.stderr


def test_an_entry_point_naming_a_missing_package_is_a_warning_not_a_failure(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install(site)
    shutil.rmtree(site / PACKAGE)  # a broken install: the metadata without its package
    env = {"PYTHONPATH": str(site), "NODEGRAPH_CACHE_DIR": str(tmp_path / "cache")}
    nodes = cli("nodes", cwd=tmp_path, env=env)
    assert nodes.returncode == 0
    assert f"warning: plugin comfy:{PACKAGE}: installed pack '{PACKAGE}'" in nodes.stderr
    assert "no such package" in nodes.stderr
