"""ComfyUI at the edge: its workflow files (UI and API format, embedded in PNG and WebP), its HTTP
API and its custom-node packs, each adapted onto nodegraph's own engine (docs/comfyui.md,
docs/plugins.md).

Nothing in the core imports this package; the CLI, the server and the plugin loader import its
modules when a ComfyUI feature is asked for. The workflow importer reads what it needs about nodes
from the registry (input order, output slots, ``COMFY_ALIASES``); no pack is imported.
"""
from .api_format import api_to_workflow, is_api_prompt, workflow_to_api
from .install import install

__all__ = ["api_to_workflow", "install", "is_api_prompt", "workflow_to_api"]
