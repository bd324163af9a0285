"""docs/node-authoring.md's worked example, built from the page itself and run as a user would:
the Vignette pack loads from a plugin folder, darkens the corners, follows --set, and a second
run comes from the cache."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from core_helpers import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "node-authoring.md"
FILE_BLOCK = re.compile(r"File `([^`]+)`:\n\n```[a-z]*\n(.*?)```", re.S)


def documented_files(folder: Path) -> list[str]:
    names = []
    for name, text in FILE_BLOCK.findall(DOC.read_text(encoding="utf-8")):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        names.append(name)
    return names


def saved(folder: Path) -> np.ndarray:
    (png,) = sorted((folder / "output").glob("vignette_*.png"))
    return np.asarray(Image.open(png).convert("RGB"), dtype=np.float32) / 255.0


def test_the_documented_vignette_pack_runs_as_written(tmp_path):
    assert documented_files(tmp_path) == ["vignette_pack/__init__.py", "vignette_pack/nodes.py", "vignette.json"]
    env = {"NODEGRAPH_CACHE_DIR": str(tmp_path / "cache")}

    listing = cli("nodes", "--plugins", ".", cwd=tmp_path, env=env)
    assert "Vignette(image:IMAGE, strength:FLOAT=0.6, radius:FLOAT=0.5) -> image:IMAGE" in listing.stdout
    assert "warning" not in listing.stderr

    first = cli("run", "vignette.json", "--plugins", ".", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    image = saved(tmp_path)
    assert image.shape == (64, 96, 3)
    centre, corner = image[32, 48], image[0, 0]
    assert np.allclose(centre, [0.9, 0.8, 0.6], atol=1 / 255)  # inside the radius: untouched
    assert np.allclose(corner, centre * 0.4, atol=2 / 255)  # strength 0.6 at the very corner

    again = cli("run", "vignette.json", "--plugins", ".", cwd=tmp_path, env=env)
    assert "0 executed, 3 cached" in again.stderr

    for png in (tmp_path / "output").glob("*.png"):
        png.unlink()
    off = cli("run", "vignette.json", "--plugins", ".", "--set", "vignette.strength=0", cwd=tmp_path, env=env)
    assert off.returncode == 0, off.stderr
    assert np.allclose(saved(tmp_path)[0, 0], [0.9, 0.8, 0.6], atol=1 / 255)  # no vignette at strength 0
