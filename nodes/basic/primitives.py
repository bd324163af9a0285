"""Primitive values, arithmetic and a value display: the engine is usable without models."""
from __future__ import annotations

import random
from typing import Any, Literal

from nodegraph import ANY, Node, Socket, Widget, node


@node("Int", category="primitives", outputs={"value": "INT"})
class Int(Node):
    """An integer constant."""
    value: int = Widget(0)

    def run(self, ctx):
        return {"value": self.value}


@node("Float", category="primitives", outputs={"value": "FLOAT"})
class Float(Node):
    """A floating-point constant."""
    value: float = Widget(0.0, step=0.01)

    def run(self, ctx):
        return {"value": float(self.value)}


@node("String", category="primitives", outputs={"value": "STRING"})
class String(Node):
    """A text constant."""
    value: str = Widget("", multiline=True)

    def run(self, ctx):
        return {"value": self.value}


@node("Boolean", category="primitives", outputs={"value": "BOOLEAN"})
class Boolean(Node):
    """A true/false constant."""
    value: bool = Widget(False)

    def run(self, ctx):
        return {"value": self.value}


MAX_SEED = 2**63 - 1


@node("Seed", category="primitives", outputs={"seed": "INT"})
class Seed(Node):
    """A seed for samplers: fixed (cached, reproducible) or random each run (never cached)."""
    seed: int = Widget(0, ge=0, le=MAX_SEED)
    mode: Literal["fixed", "random"] = Widget("fixed")

    @classmethod
    def is_deterministic(cls, literals: dict[str, Any]) -> bool:
        return literals.get("mode") != "random"  # a linked mode is taken as fixed

    def run(self, ctx):
        return {"seed": self.seed if self.mode == "fixed" else random.SystemRandom().randrange(MAX_SEED)}


@node("MathInt", category="primitives", outputs={"value": "INT"})
class MathInt(Node):
    """Integer arithmetic: a (op) b."""
    a: int = Widget(0)
    b: int = Widget(0)
    op: Literal["add", "subtract", "multiply", "floordiv", "mod", "min", "max"] = Widget("add")

    def run(self, ctx):
        a, b = self.a, self.b
        if self.op in ("floordiv", "mod") and b == 0:
            from nodegraph import NodeError
            raise NodeError(f"{self.op} by zero", input="b")
        value = {"add": a + b, "subtract": a - b, "multiply": a * b, "min": min(a, b), "max": max(a, b),
                 "floordiv": a // b if b else 0, "mod": a % b if b else 0}[self.op]
        return {"value": value}


@node("MathFloat", category="primitives", outputs={"value": "FLOAT"})
class MathFloat(Node):
    """Floating-point arithmetic: a (op) b."""
    a: float = Widget(0.0)
    b: float = Widget(0.0)
    op: Literal["add", "subtract", "multiply", "divide", "power", "min", "max"] = Widget("add")

    def run(self, ctx):
        a, b = float(self.a), float(self.b)
        if self.op == "divide" and b == 0:
            from nodegraph import NodeError
            raise NodeError("division by zero", input="b")
        value = {"add": a + b, "subtract": a - b, "multiply": a * b, "divide": a / b if b else 0.0,
                 "power": a ** b, "min": min(a, b), "max": max(a, b)}[self.op]
        return {"value": value}


@node("Show", category="primitives", output_node=True)
class Show(Node):
    """Display a value on the canvas (and in the run's results)."""
    value: Any = Socket(ANY)

    def run(self, ctx):
        ctx.ui["text"] = _preview(self.value)
        return {}


def _preview(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} {tuple(shape)} {getattr(value, 'dtype', '')}".strip()
    text = str(value)
    return text if len(text) <= 2000 else text[:2000] + "…"
