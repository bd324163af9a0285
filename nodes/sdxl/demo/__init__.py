"""Demo models (DESIGN.md principle 7): tiny, deterministic, built from configs in this folder.

``materialise("demo:tiny-sdxl", demo_dir)`` returns the path of real files (a diffusers folder or
a .safetensors LoRA), building them on first use in a temporary folder that is renamed into
place, so a crash never leaves half a model behind. The nodes then load those files through
the same code paths as a user's files. Importing this module does not import torch.
"""
from __future__ import annotations

from pathlib import Path

from .recipes import DEMO_VERSION, DEMOS, build

SCHEME = "demo:"

__all__ = ["SCHEME", "DEMOS", "DEMO_VERSION", "is_demo", "demo_name", "demo_fingerprint", "materialise", "existing_path"]


def is_demo(value: str) -> bool:
    return isinstance(value, str) and value.startswith(SCHEME)


def demo_name(value: str) -> str:
    return value[len(SCHEME):] if is_demo(value) else value


def demo_fingerprint(value: str) -> str:
    """Cache-key material for a demo input: its name and the version of its recipe."""
    return f"{value}@v{DEMO_VERSION}"


def check_demo(value: str, kind: str) -> str | None:
    """A message when ``value`` is not a known demo of ``kind`` (checkpoint or lora)."""
    name = demo_name(value)
    known = sorted(n for n, spec in DEMOS.items() if spec["kind"] == kind)
    if name not in known:
        return f"unknown demo {value!r}; known {kind} demos: {', '.join(SCHEME + n for n in known)}"
    return None


def materialise(value: str, demo_dir: Path) -> Path:
    """Files of demo ``value`` under ``demo_dir``, built on first use."""
    name = demo_name(value)
    if name not in DEMOS:
        raise KeyError(f"unknown demo {value!r}")
    return build(name, Path(demo_dir))


def existing_path(value: str, demo_dir) -> Path | None:
    """The files of demo ``value`` when already materialised under ``demo_dir``, else None.

    Never builds anything: provenance hashes what the job actually loaded.
    """
    spec = DEMOS.get(demo_name(value))
    if spec is None or demo_dir is None:
        return None
    path = Path(demo_dir) / spec["path"]
    return path if path.exists() else None
