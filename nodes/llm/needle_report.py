"""The recall table (lengths x depths) as PNG heatmap, CSV, JSON and a Markdown report.

matplotlib is imported only when a heatmap is drawn, and only its object API (Figure + Agg
canvas) is used: no pyplot, so no global figure state shared between jobs. The figure is
rendered once and its pixels written by Pillow (a savefig would lay out and render it again).
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

CELL_FIELDS = ("length", "depth", "tokens", "prompt_tokens", "needle_tokens_from_end", "score", "grade",
               "answer", "cached", "error")


def recall_table(rows: list[dict]) -> dict[str, Any]:
    """{lengths, depths, scores[depth][length] (None where a cell has no score), ...} from cell rows."""
    if not rows:
        raise ValueError("no cells to tabulate")
    for n, row in enumerate(rows):
        if not isinstance(row.get("length"), (int, float)) or not isinstance(row.get("depth"), (int, float)):
            raise ValueError(f"row {n + 1} has no numeric length and depth (is it NeedleGrid's output?)")
    lengths = sorted({int(r["length"]) for r in rows})
    depths = sorted({float(r["depth"]) for r in rows})
    scores: list[list[float | None]] = [[None] * len(lengths) for _ in depths]
    for r in rows:
        score = r.get("score")
        scores[depths.index(float(r["depth"]))][lengths.index(int(r["length"]))] = \
            None if score is None else round(float(score), 4)
    first = rows[0]
    return {"lengths": lengths, "depths": [_depth_value(d) for d in depths], "scores": scores,
            "model": first.get("model", ""), "method": first.get("method", ""),
            "token_counter": first.get("token_counter", ""), "mean": _mean([s for row in scores for s in row])}


def _depth_value(depth: float) -> float | int:
    return int(depth) if float(depth).is_integer() else depth


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(sum(kept) / len(kept), 4) if kept else None


def short_length(tokens: int) -> str:
    if tokens >= 1000 and tokens % 1000 == 0:
        return f"{tokens // 1000}K"
    return f"{tokens / 1000:.1f}K" if tokens >= 1000 else str(tokens)


def table_csv(table: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["depth % \\ length (tokens)", *table["lengths"]])
    for depth, row in zip(table["depths"], table["scores"]):
        writer.writerow([depth, *("" if s is None else f"{s:g}" for s in row)])
    return out.getvalue()


def table_json(table: dict, rows: list[dict]) -> str:
    cells = [{k: r.get(k) for k in CELL_FIELDS} for r in rows]
    return json.dumps({**table, "cells": cells}, indent=2, ensure_ascii=False) + "\n"


def heatmap_png(table: dict, title: str = "") -> tuple[bytes, dict]:
    """PNG bytes, plus where the cells are drawn (``axes_px`` = left, top, right, bottom in image
    pixels; rows are depths from the top, columns lengths from the left). The same facts go
    into the PNG's text chunk ``nodegraph:grid`` so a reader can find the cells."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    lengths, depths = table["lengths"], table["depths"]
    values = np.array([[math.nan if s is None else s for s in row] for row in table["scores"]], dtype=float)
    fig = Figure(figsize=(max(6.0, 1.6 + 0.8 * len(lengths)), max(3.5, 1.6 + 0.45 * len(depths))), dpi=100,
                 layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = colormaps["RdYlGn"].with_extremes(bad="#bdbdbd")
    image = ax.imshow(values, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(lengths)), [short_length(n) for n in lengths])
    ax.set_yticks(range(len(depths)), [f"{d:g}%" for d in depths])
    ax.set_xlabel(f"context length (tokens; {table.get('token_counter') or 'token counts'})", fontsize=8)
    ax.set_ylabel("needle depth")
    ax.set_title(title or f"recall: {table.get('model', '')} ({table.get('method', '')})", fontsize=10)
    if len(lengths) * len(depths) <= 400:  # numbers stop being legible beyond that
        for (i, j), v in np.ndenumerate(values):
            dark = not math.isnan(v) and (v < 0.2 or v > 0.8)  # the colormap's deep red and green ends
            ax.text(j, i, "–" if math.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")
    fig.colorbar(image, ax=ax, label="recall score")
    fig.canvas.draw()  # one render; its pixels are saved as they are, so axes_px is exact
    box, height = ax.get_window_extent(), fig.bbox.height
    meta = {"rows": len(depths), "cols": len(lengths), "lengths": lengths, "depths": depths,
            "axes_px": [round(box.x0, 2), round(height - box.y1, 2), round(box.x1, 2), round(height - box.y0, 2)]}
    info = PngInfo()
    info.add_text("nodegraph:grid", json.dumps(meta))
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue(), meta


def report_markdown(table: dict, rows: list[dict], title: str, excerpt: int = 120) -> str:
    lengths, depths = table["lengths"], table["depths"]
    by_length = [_mean([row[j] for row in table["scores"]]) for j in range(len(lengths))]
    by_depth = [_mean(row) for row in table["scores"]]
    fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    lines = [f"# {title}", "",
             f"- model: {table['model']}", f"- scoring: {table['method']}",
             f"- token counts: {table['token_counter']}",
             f"- grid: {len(lengths)} lengths x {len(depths)} depths = {len(rows)} cells",
             f"- mean recall: {fmt(table['mean'])}",
             f"- cells answered from the cache: {sum(bool(r.get('cached')) for r in rows)}",
             f"- failed cells: {sum(bool(r.get('error')) for r in rows)}", "",
             "## Recall by depth (rows) and context length (columns)", "",
             "| depth | " + " | ".join(short_length(n) for n in lengths) + " | mean |",
             "|---|" + "---|" * (len(lengths) + 1)]
    for depth, row, mean in zip(depths, table["scores"], by_depth):
        lines.append(f"| {depth:g}% | " + " | ".join(fmt(s) for s in row) + f" | {fmt(mean)} |")
    lines.append("| mean | " + " | ".join(fmt(m) for m in by_length) + f" | {fmt(table['mean'])} |")
    lines += ["", "## Cells", "", "| length | depth | tokens | score | answer |", "|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["length"], r["depth"])):
        said = r.get("error") and f"error: {r['error']}" or r.get("answer") or ""
        said = " ".join(str(said).split()).replace("|", "\\|")
        said = said if len(said) <= excerpt else said[: excerpt - 1] + "…"
        lines.append(f"| {r['length']} | {r['depth']:g}% | {r.get('tokens', '')} | {fmt(r.get('score'))} | {said} |")
    return "\n".join(lines) + "\n"
