"""Fast mode (``nodegraph run/serve --compile``): torch.compile of the UNet and the VAE decoder.

Eager SDXL at batch 1 is bound by kernel launches on a GPU; compiled with CUDA graphs
(``mode="reduce-overhead"``) the same image costs less than half. The model manager keeps one
``Compiled`` per warm pipeline (a pipeline is one model, device and dtype), and torch keeps one
specialised graph per input shape inside it, so a server pays compilation once per model and
image size, not per job. The compiled modules are the pipeline's own modules: LoRA patches
merged in place change what they compute without a recompile.

Set NODEGRAPH_COMPILE_BACKEND to another torch.compile backend (tests use "aot_eager": the
same graph capture without the minutes of C++ code generation on a CPU), and
NODEGRAPH_COMPILE_REGIONS=1 or 0 to compile the UNet's repeated blocks as nested regions or
inline (see regions and mark_repeated_blocks).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MethodType
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


def cuda_graphs(device_type: str) -> bool:
    """Whether fast mode records CUDA graphs (inductor on a GPU)."""
    return device_type == "cuda" and backend() == "inductor"


def regions(device_type: str) -> bool:
    """Whether the UNet's repeated blocks are compiled as nested regions (mark_repeated_blocks):
    NODEGRAPH_COMPILE_REGIONS=1 or 0, else wherever no CUDA graphs are recorded. Under CUDA
    graphs, whether a region's kernels are captured with the rest depends on the torch release
    (inductor's graph partitioning learned to look inside regions only in 2026), and the cost
    per image there is not yet measured (benchmarks/fast_mode.py --regions-ablate), so a GPU
    compiles the blocks inline until it is."""
    choice = os.environ.get("NODEGRAPH_COMPILE_REGIONS", "auto")
    if choice not in ("auto", "0", "1"):
        raise ValueError(f"NODEGRAPH_COMPILE_REGIONS is {choice!r}: use auto, 1 or 0")
    if choice == "auto":
        return not cuda_graphs(device_type)
    return choice == "1"


def mark_repeated_blocks(model) -> None:
    """Make each block of the classes ``model`` names in ``_repeated_blocks`` (diffusers lists
    its transformer blocks: 70 in SDXL's UNet, of a few distinct shapes) a nested compile
    region. torch.compile then traces and generates code for one block
    per distinct input signature and calls it for the others, where it would otherwise inline
    and compile all 70: at SDXL size (bf16, on a 2-core CPU) the sampler's compile phase took
    54.9 s instead of 99.7 s with an empty compile cache (benchmarks/compile_time.py). What a
    block computes is unchanged, and called eagerly the marked forward is the block's own.
    Resnet blocks are left inline: their shapes vary more, and as regions too they made the
    UNet's compile slower (58.1 s against 51.9 s, the UNet alone) and the VAE decoder's no
    faster (27.8 s against 28.0 s).

    The mark goes on the instances (their ``forward``), not the diffusers classes, so other
    models in the process are left as they are.
    """
    import torch
    names = set(getattr(model, "_repeated_blocks", None) or ())
    marked_forward: dict[type, Any] = {}  # one region per class: blocks of a class share its code
    for module in model.modules():
        cls = type(module)
        if cls.__name__ in names and "forward" not in vars(module):
            if cls not in marked_forward:
                marked_forward[cls] = torch.compiler.nested_compile_region(cls.forward)
            module.forward = MethodType(marked_forward[cls], module)


def compile_pipeline(pipe) -> Compiled:
    """Compile the UNet and the VAE decoder of ``pipe`` (lazily: the work happens on first call)."""
    import torch
    device = next(pipe.unet.parameters()).device
    options: dict[str, Any] = dict(backend=backend(), dynamic=False)
    if cuda_graphs(device.type):
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
    if regions(device.type):
        mark_repeated_blocks(pipe.unet)
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
