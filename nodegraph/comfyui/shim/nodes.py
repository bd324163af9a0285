"""ComfyUI's ``nodes`` module for custom-node packs: its constants, the mappings of the packs
loaded so far, the interrupt check ComfyUI calls before each node, and the image nodes packs
most often call or subclass (``SaveImage``, ``PreviewImage``, ``LoadImage``), and the loaders
they subclass (``CheckpointLoaderSimple``, ``LoraLoader``, ``LoraLoaderModelOnly``: the comfy
pack's nodes behind ComfyUI's contract), all in core_nodes.py. ComfyUI's other node classes
(``nodes.KSampler``, ``common_ksampler``...) are not provided: a pack that imports or subclasses
them fails to load, naming the class."""
from __future__ import annotations

from typing import Any

from nodegraph.comfyui.surface import current

from .core_nodes import NATIVE_FUNCTIONS, LoadImage, PreviewImage, SaveImage, native_class  # noqa: F401

MAX_RESOLUTION = 16384


def before_node_execution() -> None:
    from nodegraph.comfyui.shim.comfy.model_management import throw_exception_if_processing_interrupted
    throw_exception_if_processing_interrupted()


def interrupt_processing(value: bool = True) -> None:
    from nodegraph.comfyui.shim.comfy.model_management import interrupt_current_processing
    interrupt_current_processing(value)


def __getattr__(name: str) -> Any:
    call = current()
    if name == "NODE_CLASS_MAPPINGS":
        return call.classes
    if name == "NODE_DISPLAY_NAME_MAPPINGS":
        return call.display_names
    if name == "EXTENSION_WEB_DIRS":
        return call.web_dirs
    if name in NATIVE_FUNCTIONS:
        return native_class(name, call)
    raise AttributeError(f"nodes.{name} is one of ComfyUI's own nodes or internals, which nodegraph does not provide")
