"""nodegraph: a typed node-graph engine for generative pipelines.

This module is the public facade for node packs and embedders (docs/node-authoring.md,
docs/embedding.md); the engine itself lives in layered subpackages (docs/architecture.md).
Nothing inside ``nodegraph`` imports this facade. Importing it never imports torch, diffusers
or websockets.
"""
from .version import __version__

# The facade's names, imported on first use: `nodegraph nodes` and `--version` answer without
# pydantic (the node API's import is most of a light command's start-up), and a pack importing
# one name does not pay for the whole engine.
_LAZY = {
    "Interrupted": "api.errors", "NodeError": "api.errors", "Problem": "api.errors", "WorkflowInvalid": "api.errors",
    "ValueList": "api.lists",
    "NEVER_CACHED": "api.node", "FileInput": "api.node", "Node": "api.node", "Output": "api.node",
    "Resources": "api.node", "Socket": "api.node", "Widget": "api.node", "node": "api.node",
    "WorkflowReader": "api.readers", "ANY": "api.types", "SocketType": "api.types",
    "DemoAsset": "files.roots", "FileKind": "files.roots",
    "Environment": "run.context", "InterruptToken": "run.context", "RunContext": "run.context",
    "imported": "run.context", "phase": "run.context", "Session": "run.session",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nodegraph' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


__all__ = ["ANY", "NEVER_CACHED", "DemoAsset", "Environment", "FileKind", "FileInput", "Interrupted", "InterruptToken", "Node", "NodeError", "imported",
           "Output", "Problem", "Resources", "RunContext", "Socket", "SocketType", "ValueList", "Widget", "WorkflowInvalid", "WorkflowReader", "node",
           "phase", "Session", "__version__"]
