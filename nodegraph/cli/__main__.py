"""``python -m nodegraph.cli``: the ``nodegraph`` command."""
from .main import console

console()
