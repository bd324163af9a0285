"""The contact sheet of a sweep: each cell's picture in a grid, the swept values as labels.

Two axes: rows are the first axis's values, columns the second's. One axis, or zipped axes:
one row, each column labelled with its cell's values. Three or more: the last two make the
grid and every combination of the others is a page (``sheet.png``, ``sheet-2.png``, ...).
A cell shows its first output that Pillow reads: a still image, or the first and last frames
of an animation (GIF, WebP, APNG); a cell whose output Pillow cannot read (an MP4) shows the
first and last frames that the pack which wrote it gives (its ``WorkflowReader.frames``), else
the file's name. Pillow is generic, not a domain, and is imported only when a sheet is drawn.

``ContactSheet`` keeps the pages in memory while the sweep runs: a finished cell is pasted
into its place (its picture read once), and ``write`` encodes only the pages that changed, so
a sweep of n cells costs O(n) pictures, not the O(n²) of redrawing every cell each time.
"""
from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any, Callable, Iterable

from ..files.roots import atomic_write
from ..graph.sweep import SweepPlan, show_value

THUMB = 192  # the longer side of a cell's picture, in pixels
PAD = 6
BACKGROUND = (255, 255, 255)
EMPTY = (232, 232, 232)  # a cell not finished yet
INK = (20, 20, 20)
SHEET_KEY = "nodegraph.sweep_sheet"  # PNG text chunk: the page's layout (rows, columns, cells)
HEAD_BYTES = 16  # what a reader's ``claims`` is shown (as ``load_workflow`` does)

# A pack's frames of a file Pillow cannot read: the path -> PIL images (first and last frame).
Frames = Callable[[Path], list]


def layout(sweep: SweepPlan) -> list[dict[str, Any]]:
    """Pages of the sheet: title, row and column labels, and the cell index at each place."""
    cells, axes = sweep.cells, sweep.sweep.axes
    names = sweep.axis_names
    if sweep.sweep.zip or len(axes) == 1:
        return [{"title": "", "rows": [""], "columns": [c.label for c in cells],
                 "grid": [[c.index for c in cells]]}]
    n_rows, n_cols = len(axes[-2].values), len(axes[-1].values)
    per_page = n_rows * n_cols
    pages = []
    for p, page_values in enumerate(itertools.product(*(a.values for a in axes[:-2]))):
        title = ", ".join(f"{n}={show_value(v)}" for n, v in zip(names, page_values))
        grid = [[p * per_page + r * n_cols + c for c in range(n_cols)] for r in range(n_rows)]
        pages.append({"title": title, "rows": [f"{names[-2]}={show_value(v)}" for v in axes[-2].values],
                      "columns": [f"{names[-1]}={show_value(v)}" for v in axes[-1].values], "grid": grid})
    return pages


def frames_from_readers(readers: Iterable[Any]) -> Frames:
    """The frames of a file from the first of ``readers`` (the catalogue's ``WorkflowReader``s,
    looked at only when a file needs them) that claims it and gives frames; [] when none does."""
    def frames(path: Path) -> list:
        givers = [r for r in readers if getattr(r, "frames", None) is not None]
        if not givers:
            return []
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        for reader in givers:
            if reader.claims(Path(path), head):
                return list(reader.frames(Path(path)))
        return []
    return frames


class ContactSheet:
    """The sheet's pages, drawn once and filled in cell by cell; ``write`` saves changed pages."""

    def __init__(self, sweep: SweepPlan, folder: Path, frames: Frames | None = None) -> None:
        from PIL import ImageFont
        self.sweep = sweep
        self.folder = Path(folder)
        self.frames = frames
        self.font = ImageFont.load_default(size=13)
        self.pages = layout(sweep)
        self.place: dict[int, tuple[int, int, int]] = {}  # cell index -> (page, row, column)
        for p, page in enumerate(self.pages):
            for r, row in enumerate(page["grid"]):
                for c, index in enumerate(row):
                    self.place[index] = (p, r, c)
        self.outputs: dict[int, list[str]] = {}  # cells pasted so far (what a re-layout re-reads)
        self.cell_w = THUMB
        self.images: list[Any] = []
        self.changed: set[int] = set()
        self._draw_empty()

    def _text_size(self, draw, text: str) -> tuple[int, int]:
        left, top, right, bottom = draw.textbbox((0, 0), text, font=self.font)
        return right - left, bottom - top

    def _draw_empty(self) -> None:
        """Every page with its labels and grey places, at the current cell width."""
        from PIL import Image, ImageDraw
        measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        self.line_h = self._text_size(measure, "Ag")[1] + 2 * PAD
        widest_label = max((self._text_size(measure, t)[0] + 2 * PAD
                            for page in self.pages for t in page["columns"]), default=0)
        self.cell_w = max(self.cell_w, widest_label)
        self.images = []
        for page in self.pages:
            label_w = max((self._text_size(measure, t)[0] for t in page["rows"]), default=0)
            page["label_w"] = label_w + 2 * PAD if label_w else 0
            page["title_h"] = self.line_h if page["title"] else 0
            width = page["label_w"] + len(page["columns"]) * (self.cell_w + PAD) + PAD
            height = page["title_h"] + self.line_h + len(page["rows"]) * (THUMB + PAD) + PAD
            page["size"] = [width, height]
            sheet = Image.new("RGB", (width, height), BACKGROUND)
            draw = ImageDraw.Draw(sheet)
            if page["title"]:
                draw.text((PAD, PAD), page["title"], fill=INK, font=self.font)
            for c, text in enumerate(page["columns"]):
                draw.text((page["label_w"] + PAD + c * (self.cell_w + PAD), page["title_h"] + PAD), text,
                          fill=INK, font=self.font)
            for r, text in enumerate(page["rows"]):
                top = page["title_h"] + self.line_h + r * (THUMB + PAD)
                draw.text((PAD, top + THUMB // 2 - self.line_h // 2), text, fill=INK, font=self.font)
                for c in range(len(page["grid"][r])):
                    draw.rectangle(self._box(page, r, c), fill=EMPTY)
            self.images.append(sheet)
        self.changed = set(range(len(self.pages)))

    def _box(self, page: dict[str, Any], r: int, c: int) -> tuple[int, int, int, int]:
        left = page["label_w"] + PAD + c * (self.cell_w + PAD)
        top = page["title_h"] + self.line_h + r * (THUMB + PAD)
        return (left, top, left + self.cell_w, top + THUMB)

    def add(self, index: int, outputs: list[str]) -> None:
        """Paste cell ``index``'s picture (read from ``outputs``) into its place."""
        self.outputs[index] = list(outputs)
        picture = cell_picture(outputs, self.frames)
        if picture is not None and not isinstance(picture, str) and picture.width > self.cell_w:
            self.cell_w = picture.width  # a wider picture (a frame strip): lay every page out again
            self._draw_empty()
            for other, other_outputs in self.outputs.items():
                if other != index:
                    self._paste(other, cell_picture(other_outputs, self.frames))
        self._paste(index, picture)

    def _paste(self, index: int, picture: Any) -> None:
        from PIL import ImageDraw
        p, r, c = self.place[index]
        page, sheet = self.pages[p], self.images[p]
        left, top, right, bottom = box = self._box(page, r, c)
        if picture is None or isinstance(picture, str):
            draw = ImageDraw.Draw(sheet)
            draw.rectangle(box, fill=EMPTY)
            if picture:
                draw.text((left + PAD, top + PAD), picture[-28:], fill=INK, font=self.font)
        else:
            sheet.paste(picture, (left + (self.cell_w - picture.width) // 2, top + (THUMB - picture.height) // 2))
        self.changed.add(p)

    def entries(self) -> list[dict[str, Any]]:
        """Each page's layout: file, title, rows, columns, grid, size and the cells' boxes."""
        out = []
        for number, page in enumerate(self.pages, start=1):
            boxes = [{"cell": index, "box": self._box(page, r, c)}
                     for r, row in enumerate(page["grid"]) for c, index in enumerate(row)]
            out.append({"file": "sheet.png" if number == 1 else f"sheet-{number}.png", "title": page["title"],
                        "rows": page["rows"], "columns": page["columns"], "grid": page["grid"],
                        "size": page["size"], "boxes": boxes})
        return out

    def write(self) -> list[dict[str, Any]]:
        """Save the pages changed since the last write (atomically); returns every page's layout."""
        from PIL import PngImagePlugin
        entries = self.entries()
        self.folder.mkdir(parents=True, exist_ok=True)
        for p in sorted(self.changed):
            info = PngImagePlugin.PngInfo()
            info.add_text(SHEET_KEY, json.dumps(entries[p]))
            buffer = io.BytesIO()
            # compress_level 1: a sheet is rewritten while the sweep runs; level 6 costs ~4x the
            # time for ~10% fewer bytes on these pictures
            self.images[p].save(buffer, format="PNG", pnginfo=info, compress_level=1)
            atomic_write(self.folder / entries[p]["file"], buffer.getvalue())
        self.changed.clear()
        return entries


def draw_sheets(sweep: SweepPlan, records: list[dict[str, Any] | None], folder: Path,
                frames: Frames | None = None) -> list[dict[str, Any]]:
    """Draw every page of finished ``records`` (per cell index, None: not finished) into
    ``folder`` at once; returns the pages' layouts with their file names."""
    sheet = ContactSheet(sweep, folder, frames)
    for index, record in enumerate(records):
        if record is not None:
            sheet.add(index, record["outputs"])
    return sheet.write()


def cell_picture(outputs: list[str], frames: Frames | None):
    """The cell's picture: a thumbnail, a first|last frame strip, or a file name to print."""
    from PIL import Image, UnidentifiedImageError

    for path in outputs:
        try:
            with Image.open(path) as image:
                pictures = [image.convert("RGB")]
                count = getattr(image, "n_frames", 1)
                if count > 1:
                    image.seek(count - 1)
                    pictures.append(image.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError):
            try:
                pictures = list(frames(Path(path))) if frames is not None else []
            except (OSError, ValueError):  # an unreadable clip shows its name, as an unknown file
                pictures = []
            if not pictures:
                continue
        return _strip(pictures)
    return Path(outputs[0]).name if outputs else None


def _strip(frames):
    """Frames side by side (first | last), scaled to fit a cell."""
    from PIL import Image

    height = max(f.height for f in frames)
    width = sum(f.width for f in frames)
    strip = Image.new("RGB", (width, height), BACKGROUND)
    x = 0
    for frame in frames:
        strip.paste(frame.convert("RGB"), (x, 0))
        x += frame.width
    scale = min(THUMB * len(frames) / strip.width, THUMB / strip.height)  # small pictures grow too
    size = (max(1, round(strip.width * scale)), max(1, round(strip.height * scale)))
    return strip.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
