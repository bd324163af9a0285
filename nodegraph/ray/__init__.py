"""The Ray executor (``--executor ray``): driver, placement, remote workers. Registered by name
(entry point group ``nodegraph.executors``), never imported by the engine. May import run,
graph, api, files and startup; never cli or server."""
