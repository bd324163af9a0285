"""Fixtures for engine tests: a catalogue with the built-ins plus test-only nodes."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nodegraph.api.plugins import load_registry
from nodegraph.files.roots import FileRoots
from nodegraph.run.cache import Cache
from nodegraph.run.context import Environment
from nodegraph.run.session import Session

TEST_PLUGIN = textwrap.dedent('''
    """Test-only nodes: counted, slow, failing and lying nodes."""
    import time
    from typing import Any
    from nodegraph import ANY, Node, NodeError, Socket, Widget, node, phase

    @node("Counter", category="test", outputs={"value": "INT"})
    class Counter(Node):
        value: int = Widget(0)
        def run(self, ctx):
            return {"value": self.value}

    @node("Slow", category="test", outputs={"value": "INT"})
    class Slow(Node):
        value: Any = Socket("INT", optional=True)
        steps: int = Widget(50, ge=1)
        delay: float = Widget(0.05)
        def run(self, ctx):
            for i in range(self.steps):
                time.sleep(self.delay)
                ctx.progress(i + 1, self.steps)
            return {"value": self.value or 0}

    @node("Phased", category="test", outputs={"value": "INT"})
    class Phased(Node):
        """``loads`` waits of ``load`` seconds reported as its "load" phase, then a little work."""
        load: float = Widget(0.0)
        loads: int = Widget(1)
        def run(self, ctx):
            for _ in range(self.loads):
                with phase("load"):
                    time.sleep(self.load)
            time.sleep(0.02)
            return {"value": self.loads}

    @node("Fail", category="test", outputs={"value": "INT"})
    class Fail(Node):
        value: Any = Socket("INT")
        user_error: bool = Widget(False)
        def run(self, ctx):
            if self.user_error:
                raise NodeError("the value is not acceptable", input="value")
            raise RuntimeError("boom from a node")

    @node("Liar", category="test", outputs={"value": "INT"})
    class Liar(Node):
        def run(self, ctx):
            return {"value": "not an int"}

    @node("RandomTensor", category="test", outputs={"latent": "LATENT"})
    class RandomTensor(Node):
        seed: int = Widget(0)
        size: int = Widget(8)
        def run(self, ctx):
            import torch
            g = torch.Generator().manual_seed(self.seed)
            return {"latent": torch.randn(1, 4, self.size, self.size, generator=g)}

    @node("ScaleTensor", category="test", outputs={"latent": "LATENT"})
    class ScaleTensor(Node):
        latent: Any = Socket("LATENT")
        factor: float = Widget(2.0)
        def run(self, ctx):
            return {"latent": self.latent * self.factor}
''')


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plugins")
    (folder / "testnodes.py").write_text(TEST_PLUGIN)
    return folder


@pytest.fixture(scope="session")
def registry(plugin_dir):
    reg = load_registry([plugin_dir], use_env=False)
    assert "Counter" in reg.nodes, reg.failures  # built-in packs are checked in test_plugins
    return reg


@pytest.fixture
def env(tmp_path) -> Environment:
    roots = FileRoots(input_dir=tmp_path / "input", models_dir=tmp_path / "models", output_dir=tmp_path / "output")
    roots.input_dir.mkdir()
    return Environment(files=roots, device="cpu", cache_dir=tmp_path / "cache")


@pytest.fixture
def session(registry, env) -> Session:
    return Session(registry, env, Cache(memory_bytes=1 << 28))


