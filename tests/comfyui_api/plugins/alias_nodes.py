"""Test-only pack: a ComfyUI class served by a native node through COMFY_ALIASES."""
from __future__ import annotations

# "ComfyMultiply" runs MathInt with its inputs renamed and its operation fixed.
COMFY_ALIASES = {"ComfyMultiply": {"type": "MathInt", "inputs": {"x": "a", "y": "b"}, "set": {"op": "multiply"}}}
