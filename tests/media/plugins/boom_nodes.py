"""Test-only node pack: a node that fails with an unexpected exception (not a NodeError)."""
from __future__ import annotations

from nodegraph import Node, Widget, node


@node("TestBoom", category="test", outputs={"value": "INT"}, deterministic=False)
class TestBoom(Node):
    """Raises ``RuntimeError`` (a two-line message) when ``fail``; passes ``value`` on otherwise."""
    fail: bool = Widget(True)
    value: int = Widget(0)

    def run(self, ctx):
        if self.fail:
            return self._deep()
        return {"value": self.value}

    def _deep(self):
        raise RuntimeError("kaboom in a helper\nsecond line of the message")
