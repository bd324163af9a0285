"""Basic nodes: primitives (numbers, strings, seeds, maths), text, and images in and out."""
from . import image, primitives, text  # noqa: F401  (importing registers the @node classes)
