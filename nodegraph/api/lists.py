"""Value lists: one output carrying several values, each of which downstream nodes process.

A node may return a ``ValueList`` for an output to mean "these items, one after another" (what
ComfyUI calls an output list). A node that receives one on an input runs once per item (the
other inputs' lists are stepped alongside, a shorter list repeating its last item) and its
outputs become ValueLists of the per-item results; a node class with ``accepts_lists = True``
receives the whole ValueList instead and does its own stepping. A list of one item is that
item: nodes never see a ValueList of length one.
"""
from __future__ import annotations

from typing import Any, Iterable


class ValueList(tuple):
    """An immutable list of values travelling on one edge (see the module docstring)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ValueList({list(self)!r})"


def as_value(items: Iterable[Any]) -> Any:
    """``items`` as an edge value: the item itself when there is exactly one, else a ValueList."""
    items = tuple(items)
    return items[0] if len(items) == 1 else ValueList(items)


def item_at(value: Any, index: int) -> Any:
    """Item ``index`` of ``value`` stepped as a list: a ValueList's item (its last one past its
    end), any other value itself."""
    if isinstance(value, ValueList):
        return value[index] if index < len(value) else value[-1]
    return value
