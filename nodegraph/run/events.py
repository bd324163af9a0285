"""One event vocabulary for the CLI, the server, embedders and tests (docs/cli.md#events).

Events are plain dicts with an ``"event"`` field so they serialise to JSON lines and
websocket frames as they are. A sink is any callable taking one event; a job owns its sink.
"""
from __future__ import annotations

import json
import sys
import threading
from typing import Any, Callable, TextIO

Event = dict[str, Any]
Sink = Callable[[Event], None]

# Every event the executor emits (docs/cli.md#events); tests hold the executor to it.
VOCABULARY = ("start", "cached", "executing", "progress", "executed", "message", "error", "interrupted", "done")


def null_sink(event: Event) -> None:
    return None


class CollectingSink:
    """Keeps every event (tests, job history)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e["event"] == kind]

    def nodes(self, kind: str) -> set[str]:
        return {e["node"] for e in self.events if e["event"] == kind}


class JsonlSink:
    """One JSON object per line; thread-safe; flushes each line so pipes see it live.

    A reader that goes away (``| head``) stops the lines, not the run: the job still finishes
    and writes its outputs.
    """

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.closed = False

    def __call__(self, event: Event) -> None:
        if self.closed:
            return
        line = json.dumps(event, default=str)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except BrokenPipeError:
                self.closed = True


def fanout(*sinks: Sink) -> Sink:
    live = [s for s in sinks if s is not None]
    if len(live) == 1:  # the usual case: no extra call per event
        return live[0]

    def emit(event: Event) -> None:
        for sink in live:
            sink(event)

    return emit
