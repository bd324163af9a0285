"""The contact sheet of a sweep: each cell's picture in a grid, the swept values as labels.

Two axes: rows are the first axis's values, columns the second's. One axis, or zipped axes:
one row, each column labelled with its cell's values. Three or more: the last two make the
grid and every combination of the others is a page (``sheet.png``, ``sheet-2.png``, ...).
A cell shows its first output that Pillow reads: a still image, or the first and last frames
of an animation (GIF, WebP, APNG); a cell whose output Pillow cannot read (a video) shows the
first and last frames that its pack's ``thumbnails`` give, else the file's name. Pillow is
generic, not a domain, and is imported only when a sheet is drawn.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from ..files.roots import atomic_write
from ..graph.sweep import SweepPlan, _show

THUMB = 192  # the longer side of a cell's picture, in pixels
PAD = 6
BACKGROUND = (255, 255, 255)
EMPTY = (232, 232, 232)  # a cell not finished yet
INK = (20, 20, 20)
SHEET_KEY = "nodegraph.sweep_sheet"  # PNG text chunk: the page's layout (rows, columns, cells)


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
        title = ", ".join(f"{n}={_show(v)}" for n, v in zip(names, page_values))
        grid = [[p * per_page + r * n_cols + c for c in range(n_cols)] for r in range(n_rows)]
        pages.append({"title": title, "rows": [f"{names[-2]}={_show(v)}" for v in axes[-2].values],
                      "columns": [f"{names[-1]}={_show(v)}" for v in axes[-1].values], "grid": grid})
    return pages


def draw_sheets(sweep: SweepPlan, records: list[dict[str, Any] | None], folder: Path,
                thumbnails: Any = None) -> list[dict[str, Any]]:
    """Draw every page into ``folder``; returns the pages' layouts with their file names."""
    from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

    font = ImageFont.load_default(size=13)
    pictures = {i: _picture(r["outputs"], thumbnails) for i, r in enumerate(records) if r is not None}
    out = []
    for number, page in enumerate(layout(sweep), start=1):
        rows, columns, grid = page["rows"], page["columns"], page["grid"]
        measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        label_w = max((_text_size(measure, t, font)[0] for t in rows), default=0)
        label_w = label_w + 2 * PAD if label_w else 0
        cell_w = max(THUMB, *(_text_size(measure, t, font)[0] + 2 * PAD for t in columns),
                     *(p.width for p in pictures.values() if p is not None and not isinstance(p, str)))
        line_h = _text_size(measure, "Ag", font)[1] + 2 * PAD
        title_h = line_h if page["title"] else 0
        width = label_w + len(columns) * (cell_w + PAD) + PAD
        height = title_h + line_h + len(rows) * (THUMB + PAD) + PAD
        sheet = Image.new("RGB", (width, height), BACKGROUND)
        draw = ImageDraw.Draw(sheet)
        if page["title"]:
            draw.text((PAD, PAD), page["title"], fill=INK, font=font)
        boxes = []
        for c, text in enumerate(columns):
            draw.text((label_w + PAD + c * (cell_w + PAD), title_h + PAD), text, fill=INK, font=font)
        for r, text in enumerate(rows):
            top = title_h + line_h + r * (THUMB + PAD)
            draw.text((PAD, top + THUMB // 2 - line_h // 2), text, fill=INK, font=font)
            for c, index in enumerate(grid[r]):
                left = label_w + PAD + c * (cell_w + PAD)
                box = (left, top, left + cell_w, top + THUMB)
                boxes.append({"cell": index, "box": box})
                picture = pictures.get(index)
                if picture is None:
                    draw.rectangle(box, fill=EMPTY)
                elif isinstance(picture, str):
                    draw.rectangle(box, fill=EMPTY)
                    draw.text((left + PAD, top + PAD), picture[-28:], fill=INK, font=font)
                else:
                    sheet.paste(picture, (left + (cell_w - picture.width) // 2, top + (THUMB - picture.height) // 2))
        name = "sheet.png" if number == 1 else f"sheet-{number}.png"
        info = PngImagePlugin.PngInfo()
        entry = {"file": name, **page, "size": [width, height], "boxes": boxes}
        info.add_text(SHEET_KEY, json.dumps(entry))
        buffer = _png(sheet, info)
        atomic_write(folder / name, buffer)
        out.append(entry)
    return out


def _text_size(draw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def _png(image, info) -> bytes:
    import io
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _picture(outputs: list[str], thumbnails: Any):
    """The cell's picture: a thumbnail, a first|last frame strip, or a file name to print."""
    from PIL import Image, UnidentifiedImageError

    for path in outputs:
        try:
            with Image.open(path) as image:
                frames = [image.convert("RGB")]
                count = getattr(image, "n_frames", 1)
                if count > 1:
                    image.seek(count - 1)
                    frames.append(image.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError):
            frames = list(thumbnails(path)) if thumbnails is not None else []
            if not frames:
                continue
        return _strip(frames)
    return Path(outputs[0]).name if outputs else None


def _strip(frames):
    """Frames side by side (first | last), scaled to fit a cell."""
    from PIL import Image

    height = max(f.height for f in frames)
    width = sum(f.width for f in frames)
    strip = Image.new("RGB", (width, height), BACKGROUND)
    x = 0
    for frame in frames:
        strip.paste(frame, (x, 0))
        x += frame.width
    scale = min(THUMB * len(frames) / strip.width, THUMB / strip.height)  # small pictures grow too
    size = (max(1, round(strip.width * scale)), max(1, round(strip.height * scale)))
    return strip.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
