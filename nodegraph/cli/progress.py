"""Human-readable progress on stderr: tqdm bars on a terminal, plain lines elsewhere.

Elsewhere (CI logs, ``nohup``, a pipe) a line per finished node and, for long nodes, a step line
at most every ``PLAIN_INTERVAL`` seconds, so a log shows life without drowning in it. Text a
node shows (``Show``, ``PreviewRecords``...) is printed in both modes.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from ..run.error_log import one_line
from ..run.events import Event

PLAIN_INTERVAL = 5.0  # seconds between step lines of one node when stderr is not a terminal


class HumanProgress:
    """An event sink drawing tqdm bars on a terminal and plain lines elsewhere."""

    def __init__(self, stream: TextIO = sys.stderr, quiet: bool = False, profile: bool = False,
                 clock: Callable[[], float] = time.monotonic, traceback: bool = False,
                 log_path: str | None = None, cache_enabled: bool = True):
        self.stream = stream
        self.quiet = quiet
        self.profile = profile  # a per-node time table after the summary
        self.traceback = traceback  # print a failed node's traceback under its one line (--traceback)
        self.log_path = log_path  # where tracebacks are logged, named in an unexpected failure's line
        # node -> ("executed"|"cached", seconds, phases of those seconds)
        self._times: dict[str, tuple[str, float | None, dict]] = {}
        self.tty = stream.isatty()
        self.clock = clock
        self.cache_enabled = cache_enabled  # what an interrupted run can say it kept
        self._written: set[str] = set()  # files executed nodes wrote in this run (the rest came from the cache)
        self._bar = None
        self._step_bar = None
        self._step_node = None
        self._total = 0
        self._finished = 0
        self._last_line: dict[str, float] = {}  # node -> when its last plain step line (or start) was

    def __call__(self, event: Event) -> None:
        kind = event["event"]
        if kind == "start":
            self._total, self._finished = len(event["nodes"]), 0
            if self.tty and not self.quiet:
                from tqdm import tqdm
                self._bar = tqdm(total=self._total, desc="nodes", unit="node", file=self.stream, leave=False)
        elif kind in ("cached", "executed"):
            if self.profile:
                self._times[event["node"]] = (kind, event.get("seconds"), event.get("phases") or {})
            if kind == "executed":
                self._written.update(event.get("outputs") or ())
            self._close_steps()
            self._finished += 1
            if self._bar is not None:
                self._bar.update(1)
            elif not self.tty and not self.quiet:
                self._write(self._finished_line(event))
            text = (event.get("ui") or {}).get("text")
            if text and not self.quiet:
                self._show(event["node"], str(text))
        elif kind == "executing":
            self._last_line[event["node"]] = self.clock()
            if self._bar is not None:
                self._bar.set_postfix_str(event["node"])
        elif kind == "progress":
            if self.quiet:
                return
            if self.tty:
                from tqdm import tqdm
                if self._step_node != event["node"]:
                    self._close_steps()
                    self._step_node = event["node"]
                    self._step_bar = tqdm(total=event["max"], desc=f"  {event['node']}", file=self.stream,
                                          leave=False)
                self._step_bar.n = event["value"]
                self._step_bar.refresh()
            else:
                now = self.clock()
                if now - self._last_line.setdefault(event["node"], now) >= PLAIN_INTERVAL:
                    self._last_line[event["node"]] = now
                    self._write(f"      {event['node']}: {_number(event['value'])}/{_number(event['max'])}")
        elif kind == "error":
            self._close()
            where = f"node {event['node']!r} ({event.get('node_type')})" if event.get("node") else "workflow"
            if event.get("input"):
                where += f", input {event['input']!r}"
            # One line, whatever failed: a node's own error says what is wrong; an unexpected
            # exception is named by its type, its traceback goes to the log (or --traceback).
            message = one_line(event["message"])
            unexpected = event.get("exception") not in (None, "NodeError", "OutputMismatch")
            if unexpected:
                message = f"{event['exception']}: {message}"
                if event.get("traceback") and not self.traceback:
                    message += f" (traceback: --traceback{', or ' + self.log_path if self.log_path else ''})"
            self._write(f"error: {where}: {message}")
            if self.traceback and event.get("traceback"):
                self._write(event["traceback"].rstrip())
        elif kind == "sweep":
            if not self.quiet:
                axes = " x ".join(f"{a['name']} ({len(a['values'])})" for a in event["axes"])
                self._write(f"sweep of {event['cells']} cells: {axes}{' zipped' if event.get('zip') else ''}")
        elif kind == "cell":
            if not self.quiet:
                how = "cached" if event.get("cached") else f"{event['seconds']:.2f} s"
                self._write(f"cell {event['done']}/{event['total']} done: {event['label']} ({how})")
        elif kind == "interrupted":
            self._close()
            kept = ("finished nodes stay cached" if self.cache_enabled
                    else "nothing was cached (--no-cache): a re-run starts over")
            self._write(f"interrupted at node {event.get('node')!r}; {kept}")
        elif kind == "done":
            self._close()
            if not self.quiet:
                self._write(f"{event['status']}: {event['executed']} executed, {event['cached']} cached, "
                            f"{event['seconds']:.2f} s")
                for path in event["outputs"]:  # a cached output node wrote nothing: its file was there
                    self._write(f"  wrote {path}" if path in self._written else f"  cached {path} (not rewritten)")
                sweep = event.get("sweep")
                if sweep:
                    self._write(f"  sweep: {sweep['done']}/{sweep['cells']} cells; contact sheet {sweep['sheet']}, "
                                f"index {sweep['index']}")
            if self.profile:
                self._write_profile(event.get("seconds"))
            self._times = {}
            self._written = set()

    def _write_profile(self, total: float | None) -> None:
        """Nodes by time spent, slowest first, each followed by the phases it reported (importing
        libraries, loading weights...); cached nodes cost ~0 and are listed last."""
        rows = sorted(self._times.items(), key=lambda item: -(item[1][1] or 0.0))
        labels = [*self._times, *(f"  {name}" for _, _, phases in self._times.values() for name in phases)]
        width = max([4, *map(len, labels)])
        self._write("time per node:")
        self._write(f"  {'node':<{width}}  {'seconds':>9}  share")
        for node, (kind, seconds, phases) in rows:
            if kind == "cached":
                self._write(f"  {node:<{width}}  {'cached':>9}")
                continue
            share = f"{100 * seconds / total:5.1f}%" if total and seconds is not None else ""
            self._write(f"  {node:<{width}}  {seconds or 0.0:9.3f}  {share}")
            for name, part in phases.items():
                self._write(f"  {'  ' + name:<{width}}  {part:9.3f}")

    def _finished_line(self, event: Event) -> str:
        count = f"[{self._finished}/{self._total}]" if self._total else f"[{self._finished}]"
        what = f"{event['node']} ({event['node_type']})" if event.get("node_type") else event["node"]
        if event["event"] == "cached":
            return f"{count} {what} cached"
        seconds = event.get("seconds")
        return f"{count} {what} done" + (f" in {seconds:.2f} s" if isinstance(seconds, (int, float)) else "")

    def _show(self, node: str, text: str) -> None:
        lines = text.rstrip("\n").splitlines() or [""]
        if len(lines) == 1:
            self._write(f"{node}: {lines[0]}")
        else:
            self._write(f"{node}:")
            for line in lines:
                self._write(f"  {line}")

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
        if self._bar is not None:  # above the bars, which redraw below
            from tqdm import tqdm
            tqdm.write(line, file=self.stream)
            return
        self.stream.write(line + "\n")
        self.stream.flush()


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
