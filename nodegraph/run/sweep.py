"""A sweep while it runs: cells done / total, the index and the contact sheet (docs/sweeps.md).

``SweepTracker`` sits between the executor and the job's sink. It passes every event on and,
as the nodes of a cell finish (run or served from the cache), announces the cell (a ``cell``
event), pastes its picture into the contact sheet (``sheet.png``) and rewrites the sweep's index
(``index.json``, ``index.csv``) in ``<output>/sweeps/sweep-<id>/``: an interrupted sweep leaves
an index of the cells it finished, and a canvas can show the sheet growing.

Writing the sheet and the index costs time that grows with the sweep, so they are written when
a cell finishes or a node starts only once the time since the last write is WRITE_SHARE times
what that write took (a 40 ms write: at most every 0.8 s), and always at the end: the files
take at most ~1/WRITE_SHARE of the sweep's time, and lag it by at most one such interval.
"""
from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from ..files.roots import atomic_write
from ..graph.sweep import SweepPlan
from .events import Sink
from .sweep_sheet import ContactSheet, Frames

WRITE_SHARE = 20  # wait at least this many times the last write's duration before the next one


class SweepTracker:
    def __init__(self, sweep: SweepPlan, sink: Sink, output_dir: Path, frames: Frames | None = None) -> None:
        """``frames``: how the sheet gets frames of outputs Pillow cannot read (an MP4), from
        the packs (``sweep_sheet.frames_from_readers``)."""
        self.sweep = sweep
        self.sink = sink
        self.output_dir = Path(output_dir)
        self.folder = self.output_dir / "sweeps" / f"sweep-{sweep.id}"
        self.frames = frames
        self.job_id: str | None = None
        cells = sweep.cells
        self.order = sweep.run_order or [c.index for c in cells]  # the cells in the order they run
        self.waiting = [set(sweep.members[c.index].values()) for c in cells]  # combined ids not finished
        self.first_cell: dict[str, int] = {}  # combined id -> the first cell (as they run) that needs it
        for index in self.order:
            for cid in sweep.members[index].values():
                if cid in sweep.plan.children:
                    self.first_cell.setdefault(cid, index)
        for waiting in self.waiting:
            waiting &= set(sweep.plan.order)  # what the plan runs (only what outputs need)
        self.needed_by: dict[str, list[int]] = {}  # combined id -> the cells waiting for it, as they run
        for index in self.order:
            for cid in self.waiting[index]:
                self.needed_by.setdefault(cid, []).append(index)
        self.workflow_json: dict[int, dict[str, Any]] = {}  # per cell, made once (index and events)
        self.files: dict[str, list[str]] = {}
        self.records: list[dict[str, Any] | None] = [None] * len(cells)
        self.seconds = [0.0] * len(cells)
        self.ran = [False] * len(cells)
        self.done = 0
        self.sheet: ContactSheet | None = None  # drawn at the first write
        self.unwritten = False  # cells finished since the last write
        self.last_write = (float("-inf"), 0.0)  # (when the last write ended, what it took)

    @property
    def index_json(self) -> Path:
        return self.folder / "index.json"

    @property
    def sheet_path(self) -> Path:
        return self.folder / "sheet.png"

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "start":
            self.job_id = event.get("job")
            self.sink(event)
            self.sink({"event": "sweep", "job": self.job_id, "sweep": self.sweep.id, "cells": len(self.sweep.cells),
                       "axes": [{"name": n, "values": list(a.values)}
                                for n, a in zip(self.sweep.axis_names, self.sweep.sweep.axes)],
                       "zip": self.sweep.sweep.zip, "folder": str(self.folder)})
            return
        if kind == "error" and event.get("node") in self.first_cell:
            cell = self.sweep.cells[self.first_cell[event["node"]]]
            cells = [c.index for c in self.sweep.cells if event["node"] in self.waiting[c.index]]
            event = {**event, "cell": cell.index, "cells": cells,
                     "message": f"cell {cell.index + 1} ({cell.label}): {event.get('message', '')}"}
        if kind == "executing" and self.unwritten:
            self._write(final=False)  # the files catch up while a node runs (a burst of cached cells)
        if kind == "done":
            self._write(final=True)
            event = {**event, "sweep": {"id": self.sweep.id, "cells": len(self.sweep.cells), "done": self.done,
                                        "index": str(self.index_json), "sheet": str(self.sheet_path)}}
        self.sink(event)
        if kind in ("executed", "cached"):
            self._finished(event)

    def _finished(self, event: dict[str, Any]) -> None:
        node = event["node"]
        self.files[node] = list(event.get("outputs", ()))
        if kind_ran := event["event"] == "executed":
            first = self.first_cell.get(node)
            if first is not None:
                self.seconds[first] += float(event.get("seconds") or 0.0)
        for index in self.needed_by.get(node, ()):
            waiting = self.waiting[index]
            if node not in waiting:
                continue
            waiting.discard(node)
            if kind_ran and self.first_cell.get(node) == index:
                self.ran[index] = True
            if not waiting:
                self._cell_done(index)

    def _cell_done(self, index: int) -> None:
        cell = self.sweep.cells[index]
        outputs = [f for cid in self.sweep.outputs[index] for f in self.files.get(cid, ())]
        self.done += 1
        record = self.records[index] = {
            "cell": index, "values": dict(cell.values), "outputs": outputs,
            "seconds": round(self.seconds[index], 6), "cached": not self.ran[index]}
        if self.sheet is not None:
            self.sheet.add(index, outputs)
        self.unwritten = True
        self._write(final=False)
        self.sink({"event": "cell", "job": self.job_id, "sweep": self.sweep.id, **record,
                   "label": cell.label, "done": self.done, "total": len(self.sweep.cells),
                   "workflow": self._workflow(index), "sheet": str(self.sheet_path)})

    def _write(self, final: bool) -> None:
        """The index (every cell; ``status`` says which ran) and the contact sheet, atomically;
        unless ``final``, only when the last write was long enough ago (WRITE_SHARE)."""
        ended, took = self.last_write
        started = time.perf_counter()
        if not final and started - ended < WRITE_SHARE * took:
            return
        if self.sheet is None:
            self.sheet = ContactSheet(self.sweep, self.folder, self.frames)
            for index, record in enumerate(self.records):
                if record is not None:
                    self.sheet.add(index, record["outputs"])
        cells = []
        for cell, record in zip(self.sweep.cells, self.records):
            row = record or {"cell": cell.index, "values": dict(cell.values), "outputs": [], "seconds": None,
                             "cached": None}
            cells.append({**row, "status": "done" if record else "not run",
                          "names": [self._name(f) for f in row["outputs"]],
                          "workflow": self._workflow(cell.index)})
        self.folder.mkdir(parents=True, exist_ok=True)
        pages = self.sheet.write()
        index = {"sweep": self.sweep.id, "axes": [{"name": n, "values": list(a.values)}
                                                  for n, a in zip(self.sweep.axis_names, self.sweep.sweep.axes)],
                 "zip": self.sweep.sweep.zip, "cells_total": len(cells), "cells_done": self.done,
                 "sheets": pages, "cells": cells}
        atomic_write(self.index_json, json.dumps(index, default=str).encode())  # no indent: the C encoder
        atomic_write(self.folder / "index.csv", _csv(self.sweep.axis_names, cells).encode())
        self.unwritten = False
        now = time.perf_counter()
        self.last_write = (now, now - started)

    def _workflow(self, index: int) -> dict[str, Any]:
        if index not in self.workflow_json:
            self.workflow_json[index] = self.sweep.cell_workflows[index].to_json()
        return self.workflow_json[index]

    def _name(self, path: str) -> str | None:
        """``path`` relative to the output folder (how a server serves it), None outside it."""
        try:
            return Path(path).resolve().relative_to(self.output_dir.resolve()).as_posix()
        except (ValueError, OSError):
            return None


def _csv(names: list[str], cells: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["cell", *names, "status", "cached", "seconds", "outputs"])
    for row in cells:
        values = row["values"]
        writer.writerow([row["cell"], *(json.dumps(values[n]) if not isinstance(values[n], str) else values[n]
                                         for n in names),
                         row["status"], "" if row["cached"] is None else str(row["cached"]).lower(),
                         "" if row["seconds"] is None else row["seconds"], " ".join(row["outputs"])])
    return out.getvalue()
