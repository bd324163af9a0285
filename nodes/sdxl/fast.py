"""Fast mode (``nodegraph run/serve --compile``): torch.compile of the UNet and the VAE decoder.

Eager SDXL at batch 1 is bound by kernel launches on a GPU; compiled with CUDA graphs
(``mode="reduce-overhead"``) the same image costs less than half. The model manager keeps one
``Compiled`` per warm pipeline (a pipeline is one model, device and dtype), and torch keeps one
specialised graph per input shape inside it, so a server pays compilation once per model and
image size, not per job. The compiled modules are the pipeline's own modules: LoRA patches
merged in place change what they compute without a recompile.

Set NODEGRAPH_COMPILE_BACKEND to another torch.compile backend (tests use "aot_eager": the
same graph capture without the minutes of C++ code generation on a CPU).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from nodegraph import phase


@dataclass
class Compiled:
    unet: Any  # torch.compile'd pipe.unet
    decode: Any  # torch.compile'd pipe.vae.decode
    seen: set = field(default_factory=set)  # the calls (part, shape) already compiled for


@contextmanager
def first_call(compiled: Compiled, call: tuple) -> Iterator[None]:
    """A call the compiled modules have not seen (another part or image size): torch compiles
    before it runs, a minute or more at SDXL size, so the block is the node's "compile" phase
    (compiling, then that one call)."""
    if call in compiled.seen:
        yield
        return
    with phase("compile"):
        yield
    compiled.seen.add(call)


def backend() -> str:
    return os.environ.get("NODEGRAPH_COMPILE_BACKEND", "inductor")


def compile_pipeline(pipe) -> Compiled:
    """Compile the UNet and the VAE decoder of ``pipe`` (lazily: the work happens on first call)."""
    import torch
    device = next(pipe.unet.parameters()).device
    options: dict[str, Any] = dict(backend=backend(), dynamic=False)
    if device.type == "cuda" and options["backend"] == "inductor":
        # What mode="reduce-overhead" means (CUDA graphs: one launch per UNet call), plus 1x1
        # convolutions (the VAE's, the resnet shortcuts) as matrix products inductor can fuse
        # with their neighbours instead of separate cuDNN calls. Autotuning options
        # (max_autotune, coordinate descent) are left out: they add minutes to every compile.
        options["options"] = {"triton.cudagraphs": True, "conv_1x1_as_mm": True}
        # Shapes are fixed per compiled graph, so let cuDNN time its algorithms once per shape
        # for the convolutions left to it (eager ones too: the setting is per process).
        torch.backends.cudnn.benchmark = True
    # channels_last suits the convolutions of both (cuDNN/oneDNN pick NHWC kernels). Module.to
    # keeps the Parameter objects, so merged LoRA weights and their saved bases stay valid.
    pipe.unet.to(memory_format=torch.channels_last)
    pipe.vae.to(memory_format=torch.channels_last)
    return Compiled(torch.compile(pipe.unet, **options), torch.compile(pipe.vae.decode, **options))


@contextmanager
def swapped_in(pipe, compiled: Compiled) -> Iterator[None]:
    """``pipe`` runs its compiled UNet and VAE decoder inside the block, its eager ones after."""
    eager_unet = pipe.unet
    pipe.unet = compiled.unet
    pipe.vae.decode = compiled.decode
    try:
        yield
    finally:
        pipe.unet = eager_unet
        del pipe.vae.decode  # back to the class's method


def mark_step() -> None:
    """Tell CUDA-graph trees a new iteration starts (outputs of the last replay may be reused)."""
    import torch
    if torch.cuda.is_available():
        torch.compiler.cudagraph_mark_step_begin()
