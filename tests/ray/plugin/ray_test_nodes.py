"""Nodes for the Ray executor tests: timed work, a simulated GPU, crashing workers, progress."""
import os
import time
from pathlib import Path
from typing import Any

from nodegraph import ANY, Node, Resources, Socket, Widget, node, phase


@node("RayWork", category="test", outputs={"value": "INT"})
class RayWork(Node):
    """value * 2 after ``delay`` seconds (long enough that a wide graph needs every node)."""
    value: int = Widget(0)
    delay: float = Widget(0.0)

    def run(self, ctx):
        time.sleep(self.delay)
        return {"value": self.value * 2}


@node("RaySteps", category="test", outputs={"value": "INT"})
class RaySteps(Node):
    """Reports progress each step; an interrupt stops it at the next step."""
    value: Any = Socket("INT", optional=True)
    steps: int = Widget(5, ge=1)
    delay: float = Widget(0.0)

    def run(self, ctx):
        for i in range(self.steps):
            with phase("waiting"):
                time.sleep(self.delay)
            ctx.progress(i + 1, self.steps)
        return {"value": (self.value or 0) + self.steps}


@node("RaySimGPU", category="test", outputs={"value": "INT"})
class RaySimGPU(Node):
    """Needs ``units`` of the cluster's custom ``gpu_sim`` resource (declared per input)."""
    value: int = Widget(0)
    units: int = Widget(1, ge=1)

    @classmethod
    def requirements(cls, literals):
        return Resources(custom=(("gpu_sim", literals.get("units", 1)),))

    def run(self, ctx):
        return {"value": self.value + 100}


@node("RayCrashOnce", category="test", outputs={"value": "INT"})
class RayCrashOnce(Node):
    """Kills its worker the first time (no marker file yet), then succeeds: retried once."""
    marker: str = Widget("")
    value: int = Widget(0)

    def run(self, ctx):
        if not Path(self.marker).exists():
            Path(self.marker).write_text("crashed once")
            os._exit(1)
        return {"value": self.value}


@node("RayCrash", category="test", outputs={"value": "INT"}, deterministic=False)
class RayCrash(Node):
    """Kills its worker every time; not deterministic, so it is not retried."""
    value: int = Widget(0)

    def run(self, ctx):
        os._exit(1)


@node("RayEnvFacts", category="test", outputs={"compile": "INT"})
class RayEnvFacts(Node):
    """What the Environment it ran in says (1 if fast mode is on)."""

    def run(self, ctx):
        return {"compile": int(ctx.env.compile)}


@node("RayKeep", category="test", output_node=True, outputs={"value": ANY})
class RayKeep(Node):
    """Hands a value back in RunResult.values."""
    value: Any = Socket(ANY)

    def run(self, ctx):
        return {"value": self.value}


@node("RayImportsDiffusers", category="test", outputs={"compiler": "INT"})
class RayImportsDiffusers(Node):
    """Imports diffusers' SDXL pipeline in a model worker, as the SDXL nodes do; 1 if that
    imported torch.compile's front end (torch._dynamo) for real."""

    @classmethod
    def requirements(cls, literals):
        return Resources(models=True)

    def run(self, ctx):
        import sys
        from diffusers import StableDiffusionXLPipeline  # noqa: F401
        return {"compiler": int("torch._dynamo.eval_frame" in sys.modules)}
