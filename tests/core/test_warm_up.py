"""The background device warm-up a loader node starts (nodegraph.run.devices.warm_up)."""
from __future__ import annotations

import pytest

from nodegraph.run import devices


@pytest.fixture(autouse=True)
def fresh_once():
    devices._warm_up_once.cache_clear()
    yield
    devices._warm_up_once.cache_clear()


def test_nothing_to_warm_on_the_cpu_or_when_turned_off(monkeypatch):
    assert devices.warm_up("cpu") is None
    monkeypatch.setenv("NODEGRAPH_WARM_DEVICE", "0")
    assert devices.warm_up("cuda") is None
    assert devices.warm_up("auto") is None


def test_one_thread_per_device_and_process_that_never_raises():
    import torch
    first = devices.warm_up("cuda")
    assert first is not None and first.daemon
    assert devices.warm_up("cuda") is first  # the context is the process's: made once
    assert devices.warm_up("auto") is not first
    first.join(timeout=60)
    assert not first.is_alive()
    if not torch.cuda.is_available():  # a CPU-only machine: the thread found nothing to warm
        assert not torch.cuda.is_initialized()
    else:
        assert torch.cuda.is_initialized()
