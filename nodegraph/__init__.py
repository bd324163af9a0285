"""nodegraph: a typed node-graph engine for generative pipelines.

This module is the public facade for node packs and embedders (docs/node-authoring.md,
docs/embedding.md); the engine itself lives in layered subpackages (docs/architecture.md).
Nothing inside ``nodegraph`` imports this facade. Importing it never imports torch, diffusers
or websockets.
"""
from .api.errors import Interrupted, NodeError, Problem, WorkflowInvalid
from .api.lists import ValueList
from .api.node import NEVER_CACHED, FileInput, Node, Output, Resources, Socket, Widget, node
from .api.readers import WorkflowReader
from .api.types import ANY, SocketType
from .files.roots import DemoAsset, FileKind
from .run.context import Environment, InterruptToken, RunContext, imported, phase
from .version import __version__


def __getattr__(name: str):
    """``nodegraph.Session`` for embedders, imported on first use: a pack importing this facade
    does not pay for the whole engine (validation, cache, executors)."""
    if name == "Session":
        from .run.session import Session
        return Session
    raise AttributeError(f"module 'nodegraph' has no attribute {name!r}")

__all__ = ["ANY", "NEVER_CACHED", "DemoAsset", "Environment", "FileKind", "FileInput", "Interrupted", "InterruptToken", "Node", "NodeError", "imported",
           "Output", "Problem", "Resources", "RunContext", "Socket", "SocketType", "ValueList", "Widget", "WorkflowInvalid", "WorkflowReader", "node",
           "phase", "Session", "__version__"]
