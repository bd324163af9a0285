"""A slow node for the browser tests: loops with ctx.progress (an interrupt point) and sleeps."""
from __future__ import annotations

import time

from nodegraph import Node, Widget, node


@node("SlowCount", category="testing", outputs={"value": "INT"})
class SlowCount(Node):
    """Counts to `steps`, sleeping between steps; stops at an interrupt."""
    steps: int = Widget(100, ge=1, le=100000)
    delay: float = Widget(0.1, ge=0.0, le=10.0, step=0.01)

    @classmethod
    def is_deterministic(cls, literals):
        return False  # never served from cache: every run is slow

    def run(self, ctx):
        for i in range(self.steps):
            ctx.progress(i, self.steps)
            time.sleep(self.delay)
        ctx.progress(self.steps, self.steps)
        return {"value": self.steps}
