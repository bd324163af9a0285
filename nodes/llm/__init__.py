"""LLM family: backends (OpenAI-compatible HTTP, local transformers, a tiny demo model), the
on-disk response cache, the Orca-2 synthetic-data nodes and the needle-in-a-haystack recall
nodes. Each module declares its own socket types, file kinds and demo assets."""
from nodegraph import Resources

from . import needle, orca  # noqa: F401  (importing registers the @node classes)

# Local LLM backends hold models: run in a worker that keeps them warm (GPU when the job uses one).
RESOURCES = Resources(gpus=1, models=True)
