"""ComfyUI support for a session, installed by the layers that own one (the CLI, the server, an
embedding program): the engine itself never learns ComfyUI's formats."""
from __future__ import annotations

from typing import Any

from .load import load
from .outputs import comfy_texts


def install(session: Any) -> Any:
    """``session`` reads ComfyUI workflow files (its ``loader``), and its outputs saved for
    ComfyUI callers embed ComfyUI's ``prompt`` and ``workflow`` (``ctx.embedded_texts("comfyui")``).
    Returns the session."""
    session.loader = load
    session.env.embedders["comfyui"] = comfy_texts
    return session
