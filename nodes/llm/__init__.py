"""LLM family: backends (OpenAI-compatible HTTP, local transformers, a tiny demo model), the
on-disk response cache, the Orca-2 synthetic-data nodes and the needle-in-a-haystack recall
nodes."""
from . import needle, orca  # noqa: F401  (importing registers the @node classes)

SOCKET_TYPES = [*orca.SOCKET_TYPES, *needle.SOCKET_TYPES]
