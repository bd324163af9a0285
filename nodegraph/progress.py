"""Human-readable progress on stderr: a bar over the planned nodes, one over a node's steps."""
from __future__ import annotations

import sys
from typing import TextIO

from .events import Event


class HumanProgress:
    """An event sink drawing tqdm bars on a terminal and plain lines elsewhere."""

    def __init__(self, stream: TextIO = sys.stderr, quiet: bool = False):
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self._bar = None
        self._step_bar = None
        self._step_node = None

    def __call__(self, event: Event) -> None:
        kind = event["event"]
        if kind == "start":
            if self.tty and not self.quiet:
                from tqdm import tqdm
                self._bar = tqdm(total=len(event["nodes"]), desc="nodes", unit="node", file=self.stream,
                                 leave=False)
        elif kind in ("cached", "executed"):
            self._close_steps()
            if self._bar is not None:
                self._bar.update(1)
        elif kind == "executing":
            if self._bar is not None:
                self._bar.set_postfix_str(event["node"])
        elif kind == "progress":
            if self.tty and not self.quiet:
                from tqdm import tqdm
                if self._step_node != event["node"]:
                    self._close_steps()
                    self._step_node = event["node"]
                    self._step_bar = tqdm(total=event["max"], desc=f"  {event['node']}", file=self.stream,
                                          leave=False)
                self._step_bar.n = event["value"]
                self._step_bar.refresh()
        elif kind == "error":
            self._close()
            where = f"node {event['node']!r} ({event.get('node_type')})" if event.get("node") else "workflow"
            if event.get("input"):
                where += f", input {event['input']!r}"
            self._write(f"error: {where}: {event['message']}")
            if event.get("exception") not in (None, "NodeError", "OutputMismatch") and event.get("traceback"):
                self._write(event["traceback"].rstrip())
        elif kind == "interrupted":
            self._close()
            self._write(f"interrupted at node {event.get('node')!r}; finished nodes stay cached")
        elif kind == "done":
            self._close()
            if not self.quiet:
                self._write(f"{event['status']}: {event['executed']} executed, {event['cached']} cached, "
                            f"{event['seconds']:.2f} s")
                for path in event["outputs"]:
                    self._write(f"  wrote {path}")

    def _close_steps(self) -> None:
        if self._step_bar is not None:
            self._step_bar.close()
            self._step_bar = None
            self._step_node = None

    def _close(self) -> None:
        self._close_steps()
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
