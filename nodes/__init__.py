"""Built-in node packs, installed as ``nodegraph_nodes``: one folder per family (``basic``,
``sdxl``, ``llm``, ...), each loaded through its own ``nodegraph.nodes`` entry point exactly
like a third-party pack. Modules import torch only inside the code that runs."""
