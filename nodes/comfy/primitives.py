"""ComfyUI's Primitive* nodes (utils/primitive): one typed constant each, for templates that
feed one value to several widgets. (The UI-only ``PrimitiveNode`` is resolved by the import;
these are real nodes that run.)

ComfyUI bounds PrimitiveInt and PrimitiveFloat by the platform's largest int (sys.maxsize);
PrimitiveInt's value is followed by a control_after_generate entry, as seeds are.
"""
from __future__ import annotations

import sys

from nodegraph import Node, Widget, node

LIMIT = sys.maxsize


@node("PrimitiveInt", category="utils/primitive", outputs={"int": "INT"})
class PrimitiveInt(Node):
    """An integer constant (with ComfyUI's fixed / randomize / increment / decrement control)."""
    value: int = Widget(0, ge=-LIMIT, le=LIMIT, control_after_generate=True)

    def run(self, ctx):
        return {"int": int(self.value)}


@node("PrimitiveFloat", category="utils/primitive", outputs={"float": "FLOAT"})
class PrimitiveFloat(Node):
    """A floating-point constant."""
    value: float = Widget(0.0, ge=-LIMIT, le=LIMIT, step=0.1)

    def run(self, ctx):
        return {"float": float(self.value)}


@node("PrimitiveString", category="utils/primitive", outputs={"string": "STRING"})
class PrimitiveString(Node):
    """A one-line text constant."""
    value: str = Widget("")

    def run(self, ctx):
        return {"string": self.value}


@node("PrimitiveStringMultiline", category="utils/primitive", outputs={"string": "STRING"})
class PrimitiveStringMultiline(Node):
    """A text constant edited in a multi-line box (prompts)."""
    value: str = Widget("", multiline=True)

    def run(self, ctx):
        return {"string": self.value}


@node("PrimitiveBoolean", category="utils/primitive", outputs={"boolean": "BOOLEAN"})
class PrimitiveBoolean(Node):
    """A true/false constant (e.g. the switch of a ComfySwitchNode)."""
    value: bool = Widget(False)

    def run(self, ctx):
        return {"boolean": bool(self.value)}
