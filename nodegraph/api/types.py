"""Socket types: named value kinds on edges, with explicit compatibility rules.

A link from an output of type A to an input of type B is allowed when
- A == B (exact),
- A is a declared subtype of B (transitively),
- either side is ANY ("*"), or
- either side is a union written ``"A,B"`` (ComfyUI's spelling) and one of its members is allowed.

The core declares only the scalar types of widgets and ANY; packs declare the rest.
Types also say how the cache may keep their values: ``persist`` types go to the disk
tier (tensors, numbers, strings); others (loaded-model handles) stay in memory.
Runtime checks are duck-typed so this module never imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

ANY = "*"


def is_tensor(value: Any) -> bool:
    """A torch tensor, checked by name so the core never imports torch."""
    cls = type(value)
    return cls.__name__ in ("Tensor", "Parameter") and cls.__module__.startswith("torch")



def is_tensor_dict(value: Any) -> bool:
    return isinstance(value, dict) and all(is_tensor(v) or v is None for v in value.values())


@dataclass(frozen=True)
class SocketType:
    name: str
    parents: tuple[str, ...] = ()
    description: str = ""
    color: str = "#888888"  # for the canvas
    persist: bool = True  # may the disk cache tier store values of this type?
    check: Callable[[Any], bool] | None = field(default=None, compare=False)


# The only types the core knows: what literal widgets produce, and "any". Domain types (IMAGE,
# LATENT, MODEL, RECORDS, ...) are declared by the packs that use them (``SOCKET_TYPES``).
BUILTIN_TYPES: tuple[SocketType, ...] = (
    SocketType(ANY, description="any value", color="#aaaaaa"),
    SocketType("INT", color="#6fa8dc", check=lambda v: isinstance(v, int) and not isinstance(v, bool)),
    SocketType("FLOAT", color="#93c47d", check=lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    SocketType("STRING", color="#f6b26b", check=lambda v: isinstance(v, str)),
    SocketType("BOOLEAN", color="#c27ba0", check=lambda v: isinstance(v, bool)),
)


class TypeRegistry:
    """Socket types known to one catalogue (built by plugin loading, never global)."""

    def __init__(self, types: Iterable[SocketType] = BUILTIN_TYPES):
        self._types: dict[str, SocketType] = {}
        self._compat_cache: dict[tuple[str, str], bool] = {}
        for t in types:
            self.add(t)

    def add(self, socket_type: SocketType) -> None:
        existing = self._types.get(socket_type.name)
        if existing is not None and existing != socket_type:
            raise ValueError(f"socket type {socket_type.name!r} is already registered differently")
        self._types[socket_type.name] = socket_type
        self._compat_cache.clear()

    def __contains__(self, name: str) -> bool:
        return name in self._types

    def get(self, name: str) -> SocketType | None:
        return self._types.get(name)

    def all(self) -> list[SocketType]:
        return list(self._types.values())

    def ancestors(self, name: str) -> set[str]:
        """Every type ``name`` is a (transitive) subtype of; iterative, cycle-safe."""
        seen: set[str] = set()
        stack = list(self._types[name].parents) if name in self._types else []
        while stack:
            parent = stack.pop()
            if parent not in seen:
                seen.add(parent)
                if parent in self._types:
                    stack.extend(self._types[parent].parents)
        return seen

    def compatible(self, source: str, target: str) -> bool:
        key = (source, target)
        hit = self._compat_cache.get(key)
        if hit is None:
            if "," in source or "," in target:
                hit = any(self.compatible(s, t) for s in _members(source) for t in _members(target))
            else:
                hit = (source == target or ANY in (source, target) or target in self.ancestors(source))
            self._compat_cache[key] = hit
        return hit

    def check_value(self, name: str, value: Any) -> bool:
        if "," in name and name not in self._types:  # a union: a value of any member
            return any(self.check_value(member, value) for member in _members(name))
        socket_type = self._types.get(name)
        return socket_type is None or socket_type.check is None or socket_type.check(value)


def _members(name: str) -> list[str]:
    """The types a union ``"A,B"`` names (a plain type name is its own only member)."""
    return [part.strip() for part in name.split(",") if part.strip()] or [name]
