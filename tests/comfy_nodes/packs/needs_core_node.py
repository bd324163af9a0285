"""A pack that subclasses one of ComfyUI's own nodes that nodegraph does not provide (nodes.KSampler)."""
from nodes import KSampler


class SamplerWithSuffix(KSampler):
    pass


NODE_CLASS_MAPPINGS = {"SamplerWithSuffix": SamplerWithSuffix}
