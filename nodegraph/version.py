"""The version of nodegraph: one place, read by the package, the CLI, provenance and the build.

A leaf module (it imports nothing), so any layer may read it."""
__version__ = "0.1.0"
