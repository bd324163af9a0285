"""nodegraph: a typed node-graph engine for generative pipelines.

Importing this package never imports torch, diffusers or websockets.
"""
from .context import Environment, InterruptToken, RunContext, imported, phase
from .files import DemoAsset, FileKind
from .errors import Interrupted, NodeError, Problem, WorkflowInvalid
from .node import FileInput, Node, Output, Resources, Socket, Widget, node
from .types import ANY, SocketType

__all__ = ["ANY", "DemoAsset", "Environment", "FileKind", "FileInput", "Interrupted", "InterruptToken", "Node", "NodeError", "imported",
           "Output", "Problem", "Resources", "RunContext", "Socket", "SocketType", "Widget", "WorkflowInvalid", "node", "phase"]
__version__ = "0.1.0"
