"""File work for packs whose demo assets (``DemoAsset``) are built on first use: build a file or
folder once, atomically (``build_once``), a pack's table of recipes built by kind
(``build_recipe``), and that table described as DemoAssets (``recipe_assets``).

What to build (models, LoRAs, ...) stays in each pack; nothing here imports torch.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .roots import DemoAsset, demo_name


def build_once(target: Path, make: Callable[[Path], None]) -> Path:
    """``target``, made by ``make(path)`` unless it exists already.

    ``make`` writes a file or a folder at ``path``, inside a staging folder beside ``target``
    that is then renamed into place: a crash never leaves half a demo that later runs would
    take as built, and of two processes building at once, the first whole result stays.
    """
    target = Path(target)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        made = staging / target.name
        make(made)
        try:
            os.rename(made, target)  # a file replaces a concurrent builder's; a folder cannot
        except OSError:
            if not target.exists():  # a real failure, not a concurrent builder that won
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_recipe(recipes: Mapping[str, Mapping[str, Any]], name: str, demo_dir: Path,
                 makers: Mapping[str, Callable[[Path, Mapping[str, Any], Path], None]]) -> Path:
    """The files of demo ``name`` under ``demo_dir``, built on first use (``build_once``).

    ``recipes[name]`` holds the demo's ``kind``, its ``path`` under the demo folder and whatever
    its maker reads; ``makers[kind](demo_dir, recipe, path)`` writes it at ``path`` (a maker may
    build other demos it starts from, e.g. a LoRA's base model, through the same table).
    """
    recipe = recipes[name]
    return build_once(Path(demo_dir) / recipe["path"], partial(makers[recipe["kind"]], Path(demo_dir), recipe))


def recipe_assets(recipes: Mapping[str, Mapping[str, str]], build: Callable[[str, Path], Path], version: str,
                  descriptions: Mapping[str, str], hints: Mapping[str, tuple[str, ...]] | None = None) -> list[DemoAsset]:
    """The DemoAssets of a pack's built demos.

    ``recipes[name]`` holds the demo's file ``kind`` and its ``path`` under the demo folder;
    ``build(name, demo_dir)`` builds it there (``build_once``) and returns that path. ``hints``:
    each demo's name hints (``DemoAsset.hints``).
    """
    return [DemoAsset(name, spec["kind"], build=partial(build, name), locate=partial(_locate, spec["path"]),
                      version=version, description=descriptions.get(name, ""), hints=tuple((hints or {}).get(name, ())))
            for name, spec in recipes.items()]


def materialise(assets: Iterable[DemoAsset], value: str, demo_dir: Path) -> Path:
    """The files of demo ``value`` (``demo:NAME`` or ``NAME``) among ``assets``, built under
    ``demo_dir`` on first use: for tests and benchmarks, which work without a catalogue."""
    name = demo_name(value) or value
    for asset in assets:
        if asset.name == name:
            return asset.build(Path(demo_dir))
    raise KeyError(f"unknown demo {value!r}")


def demo_fingerprint(asset: DemoAsset) -> str:
    """What a model manager keys a loaded demo by: its name and the version of its recipe (its
    files' sizes and times change with every build, its content does not)."""
    return f"{asset.value}@{asset.version}"


def _locate(relative: str, demo_dir: Path) -> Path | None:
    path = Path(demo_dir) / relative
    return path if path.exists() else None
