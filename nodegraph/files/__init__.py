"""Files and outputs: file roots and name resolution, the atomic writer, provenance, demo-asset
building. The bottom layer: may import only ``nodegraph.version`` and the standard library."""
