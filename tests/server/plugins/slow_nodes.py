"""Test-only node pack: a node that takes a while and honours interrupts."""
from __future__ import annotations

import time

from nodegraph import Node, Widget, node


@node("TestSleep", category="test", outputs={"value": "INT"}, deterministic=False)
class TestSleep(Node):
    """Sleep ``seconds`` in small steps (progress + interrupt checks), then pass ``value`` on."""
    seconds: float = Widget(1.0, ge=0.0, le=600.0)
    value: int = Widget(0)

    def run(self, ctx):
        end = time.monotonic() + self.seconds
        steps = max(1, int(self.seconds / 0.05))
        for i in range(steps):
            ctx.progress(i, steps)  # also an interrupt point
            time.sleep(max(0.0, min(0.05, end - time.monotonic())))
        return {"value": self.value}


@node("TestSteadySleep", category="test", outputs={"value": "INT"})
class TestSteadySleep(TestSleep):
    """TestSleep that is deterministic: its result is cached (a sweep resumed after a restart)."""
