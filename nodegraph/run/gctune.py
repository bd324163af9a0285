"""Keeping Python's cycle collector off the engine's bookkeeping.

A full collection walks every tracked object; validating a 10,000-node workflow allocates
enough long-lived objects (pydantic models, graph, plan) to trigger several, which cost more
than the validation itself (measured: 25 -> 14 µs/node). The collector is paused only for
these pure-Python phases. It is *not* frozen during runs: ``gc.freeze`` hides objects from
the collector's bookkeeping of long-lived objects, so in a process holding torch (~460,000
objects, 250 ms per full collection) later full collections came more often and a 4-step
SDXL run got 8% slower. Hand-written: it only calls the stdlib ``gc`` module.

What a paused phase builds lives on through the run (a 10,000-node graph is ~80,000 objects).
Left in the young generations, the run's first collections walk all of it (measured: 25 ms
in the first generation-1 collection of a 10,000-node chain, 2.5 µs per node, plus a full
collection every other run); ``collector_paused(graph_nodes=...)`` hands a big one straight to the
oldest generation instead, without walking it.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

# Graphs from this many nodes are handed to the oldest generation when built: below it the
# collector's walk costs little, and a server of many small jobs keeps its young collections
# (which free the cyclic garbage of requests and tasks soonest).
BIG_GRAPH_NODES = 1000


@contextmanager
def collector_paused(graph_nodes: int = 0) -> Iterator[None]:
    """No automatic collections during pure-Python bookkeeping (validation, planning).

    These phases create little cyclic garbage, so nothing accumulates; refcounting still frees
    everything else at once. ``graph_nodes``: the size of the graph the block builds, kept for a
    while (a job's graph and plan); from ``BIG_GRAPH_NODES`` on, what the block built is moved to
    the oldest generation at the end (``promote``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if graph_nodes >= BIG_GRAPH_NODES:
            promote()
        if was_enabled:
            gc.enable()


def promote() -> None:
    """Every object the collector tracks moves to its oldest generation, unwalked.

    ``gc.freeze`` moves all generations to the permanent one and ``gc.unfreeze`` puts that back
    as the oldest: two list splices. The move does not count towards the next full collection
    (only survivors of young collections do), so full collections come no more often. Skipped
    while anything is frozen: unfreezing would release what someone else froze on purpose (a
    server that freezes before forking workers, to keep their memory shared).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


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
