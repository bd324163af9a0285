"""Built-in node packs. Each module is one family, loaded through the ``nodegraph.nodes``
entry points like any third-party pack. Modules import torch only inside ``run``."""
