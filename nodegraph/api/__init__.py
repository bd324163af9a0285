"""The node API and catalogue: errors, socket types, ``@node``, the registry, plugin loading.
May import ``nodegraph.files`` (and ``nodegraph.version``); never graph, run or anything above."""
