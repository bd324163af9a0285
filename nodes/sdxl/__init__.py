"""SDXL + LCM-LoRA family: loading, prompts, sampling, decoding, LoRAs, checkpoints.

Its model manager (``model_manager.py``) keeps materialised pipelines warm across jobs; its demo
models (``demo/``) are tiny seeded SDXL-architecture files built on first use.
"""
from . import checkpoint, lora, pipeline  # noqa: F401  (importing registers the @node classes)
