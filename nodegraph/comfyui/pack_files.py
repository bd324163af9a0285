"""Files of ComfyUI custom-node packs that ComfyUI's frontend asks the server for, found as
ComfyUI finds them in a pack's folder:

- example workflows: ``*.json`` in the pack's sub-folders whose name holds ``example`` or
  ``workflow`` (``/workflow_templates`` lists them per pack; the files are served under
  ``/api/workflow_templates/<pack folder>/``);
- translations: ``locales/<language>/main.json``, plus ``nodeDefs.json``, ``commands.json`` and
  ``settings.json`` beside it under those keys, merged over every pack (``/i18n``).

Pure reads of the packs' folders; a file that is not JSON is skipped with a warning.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger("nodegraph.comfyui")

TEMPLATE_HINTS = ("example", "workflow")
EXTRA_LOCALE_FILES = ("nodeDefs", "commands", "settings")


def pack_folders(packs: Iterable[Any]) -> dict[str, Path]:
    """Pack folder name -> folder, for the packs that are folders (a single-file pack has none)."""
    return {Path(p.path).name: Path(p.path) for p in packs if Path(p.path).is_dir()}


def template_dirs(folder: Path) -> list[Path]:
    """The pack's sub-folders of example workflows (none when the folder cannot be read)."""
    try:
        return sorted(d for d in folder.iterdir()
                      if d.is_dir() and any(hint in d.name.lower() for hint in TEMPLATE_HINTS))
    except OSError:
        return []


def workflow_templates(folders: dict[str, Path]) -> dict[str, list[str]]:
    """Pack folder name -> the names (without ``.json``) of its example workflows; packs
    without any are left out."""
    found: dict[str, list[str]] = {}
    for name, folder in sorted(folders.items()):
        names = sorted({f.stem for d in template_dirs(folder) for f in d.glob("*.json") if f.is_file()})
        if names:
            found[name] = names
    return found


def translations(folders: dict[str, Path]) -> dict[str, Any]:
    """``{language: {...main.json, "nodeDefs": ..., "commands": ..., "settings": ...}}`` over
    every pack, later packs' keys merged into earlier ones."""
    merged: dict[str, Any] = {}
    for _, folder in sorted(folders.items()):
        locales = folder / "locales"
        if not locales.is_dir():
            continue
        for language in sorted(d for d in locales.iterdir() if d.is_dir()):
            texts = _json_object(language / "main.json")
            for key in EXTRA_LOCALE_FILES:
                extra = _json_object(language / f"{key}.json")
                if extra:
                    texts[key] = extra
            if texts:
                merged[language.name] = merge(merged.get(language.name, {}), texts)
    return merged


def merge(base: dict, extra: dict) -> dict:
    """``extra`` over ``base``, nested objects merged key by key (a few lines: no library merges
    JSON objects this way)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def _json_object(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("custom node pack file %s is not JSON: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}
