"""The ``nodegraph`` command (``main``), its progress display, remote runs and its exit.
The top: may import every layer below; nothing imports it."""
