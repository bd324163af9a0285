"""Result sensitivity, shared by the packs' test folders: every literal input of a pack's nodes
is either changed by a test that compares the *content* of what comes out (frames, pixels,
records; not file bytes, which differ anyway when a file embeds its workflow), or changed by a
test that checks the content stays the same (file names, how rather than what), or named here
with the reason no content test applies. ``uncovered`` is what none of these names."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch


def literal_inputs(registry, plugin: str) -> set[tuple[str, str]]:
    """(node type, input) of every input of ``plugin``'s nodes that takes a literal (a widget)."""
    return {(n["type"], i["name"]) for n in registry.catalogue()["nodes"] if n["plugin"] == plugin
            for i in n["inputs"] if i.get("widget")}


def uncovered(registry, plugin: str, *covered: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    named = {pair for group in covered for pair in group}
    return literal_inputs(registry, plugin) - named


def same(a: Any, b: Any, atol: float = 0.0) -> bool:
    """Equal content: tensors (and numpy arrays) value by value within ``atol``, containers
    element by element, everything else with ==."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], atol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, atol) for x, y in zip(a, b))
    if hasattr(a, "shape") and hasattr(b, "shape"):
        a, b = (torch.as_tensor(np.array(x)) if isinstance(x, np.ndarray) else x for x in (a, b))
        a, b = a.double(), b.double()
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=0.0, atol=atol))
    return a == b
