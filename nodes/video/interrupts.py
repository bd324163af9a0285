"""Interrupt points inside a Stable Video Diffusion pipeline call.

Diffusers' pipeline call is one function from the start image to the latents: its only hook is
the end of each denoising step, so an interrupt arriving while the image or the VAE encodes, or
while the temporal VAE decodes, waited for all of it (seconds to minutes at real sizes). A
forward pre-hook on each model part that runs as a unit of work checks the job's interrupt
before that part starts: the image encoder, the VAE encoder, every UNet call (one per step) and
every temporal-decoder call (one per decode chunk), and inside those the UNet's and the
decoder's blocks, so an interrupt lands within a fraction of a step or chunk, not after it.
Hooks cost a Python call per block; they are removed when the node is done with the pipeline.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator


def interrupt_modules(pipe) -> list[Any]:
    """The parts of ``pipe`` before each of which an interrupt is checked, in the order a call
    runs them (encoders, then the UNet and its blocks, then the decoder and its blocks)."""
    unet, vae = pipe.unet, pipe.vae
    decoder = vae.decoder
    return [pipe.image_encoder, vae.encoder,
            unet, *unet.down_blocks, unet.mid_block, *unet.up_blocks,
            decoder, decoder.mid_block, *decoder.up_blocks]


@contextmanager
def interrupt_points(check: Callable[[], None], modules: list[Any]) -> Iterator[None]:
    """Call ``check`` (which raises ``Interrupted``) before each of ``modules`` runs, while the
    block runs. The caller holds the pipeline alone meanwhile (the model manager's lock)."""
    handles = [m.register_forward_pre_hook(lambda _module, _args: check()) for m in modules if m is not None]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
