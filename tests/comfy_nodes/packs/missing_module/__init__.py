"""A pack that needs a library nodegraph does not ship (scikit-image)."""
import skimage  # noqa: F401

NODE_CLASS_MAPPINGS = {}
