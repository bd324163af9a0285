"""A pack that subclasses one of ComfyUI's own nodes (nodes.SaveImage)."""
from nodes import SaveImage


class SaveWithSuffix(SaveImage):
    pass


NODE_CLASS_MAPPINGS = {"SaveWithSuffix": SaveWithSuffix}
