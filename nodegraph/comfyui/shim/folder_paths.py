"""ComfyUI's ``folder_paths`` for custom-node packs: the session's input, output and models
folders under ComfyUI's names.

The folders are those of the load or node call in progress (``surface.current()``): a pack
that reads ``folder_paths.get_output_directory()`` while its node runs gets that job's output
folder. Model folders are ComfyUI's sub-folders of ``--models-dir`` (``checkpoints``,
``loras``, ...), each followed by nodegraph's own name for the kind where it has one.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, Iterator

from nodegraph.comfyui.surface import current

supported_pt_extensions = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}

# ComfyUI's model folder names -> sub-folders of the models folder, and the extensions listed.
_STANDARD: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "checkpoints": (("checkpoints", "checkpoint"), supported_pt_extensions),
    "configs": (("configs",), {".yaml"}),
    "loras": (("loras", "lora"), supported_pt_extensions),
    "vae": (("vae",), supported_pt_extensions),
    "text_encoders": (("text_encoders", "clip"), supported_pt_extensions),
    "diffusion_models": (("unet", "diffusion_models"), supported_pt_extensions),
    "clip_vision": (("clip_vision",), supported_pt_extensions),
    "style_models": (("style_models",), supported_pt_extensions),
    "embeddings": (("embeddings", "embedding"), supported_pt_extensions),
    "diffusers": (("diffusers",), {"folder"}),
    "vae_approx": (("vae_approx",), supported_pt_extensions),
    "controlnet": (("controlnet", "t2i_adapter"), supported_pt_extensions),
    "gligen": (("gligen",), supported_pt_extensions),
    "upscale_models": (("upscale_models",), supported_pt_extensions),
    "hypernetworks": (("hypernetworks",), supported_pt_extensions),
    "photomaker": (("photomaker",), supported_pt_extensions),
    "classifiers": (("classifiers",), {""}),
    "model_patches": (("model_patches",), supported_pt_extensions),
    "audio_encoders": (("audio_encoders",), supported_pt_extensions),
}
_LEGACY = {"unet": "diffusion_models", "clip": "text_encoders"}


def map_legacy(folder_name: str) -> str:
    return _LEGACY.get(folder_name, folder_name)


class _Tables:
    """One folder table per models folder (sessions with different folders never mix), each
    built from the standard folders plus what packs registered (``add_model_folder_path``,
    assignments to ``folder_names_and_paths``), replayed in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, tuple[list[str], set[str]]]] = {}
        self._registered: list[tuple[str, tuple[list[str], set[str]] | None, str | None, bool]] = []

    def table(self) -> dict[str, tuple[list[str], set[str]]]:
        models = str(Path(current().files.models_dir).resolve())
        with self._lock:
            table = self._tables.get(models)
            if table is None:
                table = {name: ([os.path.join(models, sub) for sub in subs], set(exts))
                         for name, (subs, exts) in _STANDARD.items()}
                table["custom_nodes"] = ([], set())
                for name, entry, path, is_default in self._registered:
                    _apply(table, name, entry, path, is_default)
                self._tables[models] = table
            return table

    def register(self, name: str, entry: tuple[list[str], set[str]] | None, path: str | None, is_default: bool) -> None:
        self.table()  # the current folder's table exists before the change, so it gets it once
        with self._lock:
            self._registered.append((name, entry, path, is_default))
            for table in self._tables.values():
                _apply(table, name, entry, path, is_default)


def _apply(table: dict, name: str, entry: Any, path: str | None, is_default: bool) -> None:
    if entry is not None:
        table[name] = (list(entry[0]), set(entry[1]))
        return
    paths, exts = table.setdefault(name, ([], set()))
    if path in paths:
        paths.remove(path)
    if is_default:
        paths.insert(0, path)
    else:
        paths.append(path)


_TABLES = _Tables()


class _FolderTable(MutableMapping):
    """``folder_names_and_paths``: {name: ([folders], {extensions})} of the current models folder."""

    def __getitem__(self, name: str) -> tuple[list[str], set[str]]:
        return _TABLES.table()[map_legacy(name)]

    def __setitem__(self, name: str, entry: Any) -> None:
        paths, exts = entry
        _TABLES.register(map_legacy(name), (list(paths), set(exts)), None, False)

    def __delitem__(self, name: str) -> None:
        del _TABLES.table()[map_legacy(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(list(_TABLES.table()))

    def __len__(self) -> int:
        return len(_TABLES.table())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and map_legacy(name) in _TABLES.table()


folder_names_and_paths = _FolderTable()
filename_list_cache: dict = {}  # ComfyUI's; lists are read fresh here, so it stays empty


def __getattr__(name: str) -> Any:
    """Module attributes that follow the current session: models_dir, output_directory, ..."""
    files = current().files
    values = {
        "models_dir": lambda: str(Path(files.models_dir).resolve()),
        "base_path": lambda: str(Path(files.models_dir).resolve().parent),
        "output_directory": get_output_directory, "input_directory": get_input_directory,
        "temp_directory": get_temp_directory, "user_directory": get_user_directory,
    }
    if name in values:
        return values[name]()
    raise AttributeError(f"folder_paths.{name} is part of ComfyUI that nodegraph does not provide")


def get_output_directory() -> str:
    return str(Path(current().files.output_dir).resolve())


def get_input_directory() -> str:
    return str(Path(current().files.input_dir).resolve())


def get_temp_directory() -> str:
    return str(current().temp_dir.resolve())


def get_user_directory() -> str:
    return str(Path(current().files.input_dir).resolve().parent / "user")


def get_directory_by_type(type_name: str) -> str | None:
    return {"output": get_output_directory, "input": get_input_directory,
            "temp": get_temp_directory}.get(type_name, lambda: None)()


def annotated_filepath(name: str) -> tuple[str, str | None]:
    """``"x.png [output]"`` -> ("x.png", the output folder); no annotation -> (name, None)."""
    for tag, folder in (("[output]", get_output_directory), ("[input]", get_input_directory),
                        ("[temp]", get_temp_directory)):
        if name.endswith(tag):
            return name[:-len(tag)].strip(), folder()
    return name, None


def get_annotated_filepath(name: str, default_dir: str | None = None) -> str:
    name, base = annotated_filepath(name)
    if base is None:
        base = default_dir if default_dir is not None else get_input_directory()
    return os.path.join(base, name)


def exists_annotated_filepath(name: str) -> bool:
    return os.path.exists(get_annotated_filepath(name))


def add_model_folder_path(folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
    _TABLES.register(map_legacy(folder_name), None, str(full_folder_path), is_default)


def get_folder_paths(folder_name: str) -> list[str]:
    return list(folder_names_and_paths[folder_name][0])


def recursive_search(directory: str, excluded_dir_names: list[str] | None = None) -> tuple[list[str], dict[str, float]]:
    """Files under ``directory`` (relative, ``/``-separated) and the folders walked (with mtimes)."""
    if not os.path.isdir(directory):
        return [], {}
    excluded = set(excluded_dir_names or ()) | {".git"}
    found: list[str] = []
    folders: dict[str, float] = {directory: os.path.getmtime(directory)}
    for root, dirs, files in os.walk(directory, followlinks=True, topdown=True):
        dirs[:] = [d for d in dirs if d not in excluded]
        for name in files:
            found.append(os.path.relpath(os.path.join(root, name), directory).replace(os.sep, "/"))
        for name in dirs:
            path = os.path.join(root, name)
            try:
                folders[path] = os.path.getmtime(path)
            except OSError:
                pass
    return found, folders


def filter_files_extensions(files: list[str], extensions: Any) -> list[str]:
    extensions = set(extensions or ())
    return sorted(f for f in files if not extensions or os.path.splitext(f)[-1].lower() in extensions)


def get_filename_list(folder_name: str) -> list[str]:
    """Names of the files of a model folder (sorted, relative to their folder; read each call)."""
    paths, extensions = folder_names_and_paths[folder_name]
    names: set[str] = set()
    for folder in paths:
        files, _ = recursive_search(folder, excluded_dir_names=[".git"])
        names.update(filter_files_extensions(files, extensions))
    return sorted(names)


def get_full_path(folder_name: str, filename: str) -> str | None:
    if folder_name not in folder_names_and_paths:
        return None
    relative = os.path.relpath(os.path.join("/", filename), "/")  # no escape through ".."
    for folder in folder_names_and_paths[folder_name][0]:
        path = os.path.join(folder, relative)
        if os.path.isfile(path):
            return path
    return None


def get_full_path_or_raise(folder_name: str, filename: str) -> str:
    path = get_full_path(folder_name, filename)
    if path is None:
        raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")
    return path


def get_save_image_path(filename_prefix: str, output_dir: str, image_width: int = 0,
                        image_height: int = 0) -> tuple[str, str, int, str, str]:
    """(folder, file name stem, next counter, subfolder, prefix) for ``<stem>_<counter:05>_.png``
    files in ``output_dir``; a prefix leading outside ``output_dir`` is refused."""
    if "%" in filename_prefix:
        filename_prefix = _expand(filename_prefix, image_width, image_height)
    normal = os.path.normpath(filename_prefix)
    subfolder, filename = os.path.dirname(normal), os.path.basename(normal)
    full_output_folder = os.path.join(output_dir, subfolder)
    if os.path.commonpath((os.path.abspath(output_dir), os.path.abspath(full_output_folder))) != os.path.abspath(output_dir):
        raise ValueError(f"saving outside the output folder is not allowed: prefix {filename_prefix!r}")
    os.makedirs(full_output_folder, exist_ok=True)
    pattern = re.compile(re.escape(filename) + r"_(\d+)_", re.IGNORECASE)
    counters = [int(m.group(1)) for name in os.listdir(full_output_folder) if (m := pattern.match(name))]
    return full_output_folder, filename, max(counters, default=0) + 1, subfolder, filename_prefix


def _expand(prefix: str, width: int, height: int) -> str:
    now = time.localtime()
    values = {"width": width, "height": height, "year": now.tm_year, "month": f"{now.tm_mon:02}",
              "day": f"{now.tm_mday:02}", "hour": f"{now.tm_hour:02}", "minute": f"{now.tm_min:02}",
              "second": f"{now.tm_sec:02}"}
    for key, value in values.items():
        prefix = prefix.replace(f"%{key}%", str(value))
    return prefix
