"""LLM family: backends (OpenAI-compatible HTTP, local transformers, a tiny demo model), the
on-disk response cache, and the Orca-2 synthetic-data nodes."""
from . import orca  # noqa: F401  (importing registers the @node classes)
