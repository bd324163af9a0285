"""A pack that monkeypatches nodegraph and another pack's class as it imports."""
import nodes
import nodegraph.run.executor
from nodegraph_nodes.basic import image

image.SolidImage.run = lambda self, ctx: {"image": None}  # would break every SolidImage
nodegraph.run.executor.run_node = None  # would break every job
nodes.NODE_CLASS_MAPPINGS["ToolsInvert"].invert = lambda self, image: (image,)  # another pack's class


class Harmless:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"value": ("INT", {"default": 3})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "tests"

    def run(self, value):
        return (value * 2,)


NODE_CLASS_MAPPINGS = {"MutatorHarmless": Harmless}
