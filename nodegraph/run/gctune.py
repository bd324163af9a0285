"""Keeping Python's cycle collector off the engine's bookkeeping.

A full collection walks every tracked object; validating a 10,000-node workflow allocates
enough long-lived objects (pydantic models, graph, plan) to trigger several, which cost more
than the validation itself (measured: 25 -> 14 µs/node). The collector is paused only for
these pure-Python phases. It is *not* frozen during runs: ``gc.freeze`` hides objects from
the collector's bookkeeping of long-lived objects, so in a process holding torch (~460,000
objects, 250 ms per full collection) later full collections came more often and a 4-step
SDXL run got 8% slower. Hand-written: it only calls the stdlib ``gc`` module.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collections during pure-Python bookkeeping (validation, planning).

    These phases create little cyclic garbage, so nothing accumulates; refcounting still frees
    everything else at once.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def collections_skipped() -> Iterator[None]:
    """Explicit ``gc.collect()`` calls inside find almost nothing to walk.

    For the command line's last step, closing the session: releasing the models collects to hand
    their memory back (250-300 ms in a process holding torch), pointless in a process about to
    end. Everything that exists is moved out of the collector's view for the block and back after
    it, so code that goes on (tests calling ``cli.main``) loses nothing: the cycles are collected
    later as usual.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
