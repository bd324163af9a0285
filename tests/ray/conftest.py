"""One two-node Ray cluster for the Ray executor tests, up for this folder only.

The head has 2 CPUs; the second node has 2 CPUs and one unit of ``gpu_sim``, a custom resource
standing in for a GPU. Both bind 127.0.0.1. Ray processes are shut down after the last test
here (package scope), so later test folders run without them.
"""
from __future__ import annotations

import os

# Before Ray is imported: no auth token under $HOME, every Ray process on loopback.
os.environ["RAY_AUTH_MODE"] = "disabled"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

import ray  # noqa: E402  (pip install -e '.[test,ray]'; CI installs it, these tests never skip)

from nodegraph.files.roots import FileRoots  # noqa: E402
from nodegraph.run.cache import Cache  # noqa: E402
from nodegraph.run.context import Environment  # noqa: E402
from nodegraph.run.session import Session  # noqa: E402
from ray_helpers import PLUGIN_DIR  # noqa: E402

OBJECT_STORE = 96 << 20


@pytest.fixture(scope="package")
def cluster():
    from ray.cluster_utils import Cluster
    if ray.is_initialized():
        ray.shutdown()
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "object_store_memory": OBJECT_STORE,
                                                      "include_dashboard": False})
    gpu_node = c.add_node(num_cpus=2, resources={"gpu_sim": 1}, object_store_memory=OBJECT_STORE)
    ray.init(address=c.address, logging_level="WARNING", log_to_driver=False)
    c.wait_for_nodes(timeout=60)
    try:
        yield {"head": c.head_node.node_id, "gpu": gpu_node.node_id}
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.fixture(scope="package")
def registry():
    from nodegraph.api.plugins import load_registry
    reg = load_registry([PLUGIN_DIR], use_env=False)
    assert not reg.failures, reg.failures
    return reg


@pytest.fixture(scope="package")
def executor(cluster):
    from nodegraph.ray.executor import RayExecutor
    ex = RayExecutor(start_timeout_s=60, grace_s=20)
    yield ex
    ex.close()


@pytest.fixture
def make_session(registry, executor, tmp_path):
    def make(cache: Cache | None = None, ray: bool = True, device: str = "cpu") -> Session:
        env = Environment(files=FileRoots(input_dir=tmp_path / "input", models_dir=tmp_path / "models",
                                          output_dir=tmp_path / "output"),
                          device=device, demo_dir=tmp_path.parent / "ray-demo")
        from nodegraph.run.executor import InProcessExecutor
        return Session(registry, env=env, cache=cache if cache is not None else Cache(enabled=False),
                       executor=executor if ray else InProcessExecutor())
    return make
