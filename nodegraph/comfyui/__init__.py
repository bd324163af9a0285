"""ComfyUI at the edge: its workflow files, its HTTP API and its custom-node packs, each adapted
onto nodegraph's own engine (docs/comfyui.md, docs/plugins.md).

Nothing in the core imports this package; the CLI and the plugin loader import its modules when
a ComfyUI feature is asked for.
"""
