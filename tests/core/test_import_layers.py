"""Imports point one way through the layers (docs/architecture.md) and form no circle."""
from __future__ import annotations

import shutil
from pathlib import Path

import import_layers as layers

REPO = Path(__file__).resolve().parents[2]


def test_no_import_crosses_a_layer_the_wrong_way():
    assert layers.wrong_way(REPO) == []


def test_no_modules_import_each_other_in_a_circle():
    assert layers.circles(REPO) == []


def test_the_reading_sees_the_engines_real_imports():
    found = {(e.source, e.target) for e in layers.edges(REPO)}
    assert ("nodegraph.run.session", "nodegraph.graph.validate") in found  # relative, module level
    assert ("nodegraph.cli.main", "nodegraph.server.app") in found  # inside a function
    assert ("nodegraph_nodes.video.mp4meta", "nodegraph.graph.workflow") in found  # a pack, absolute
    assert ("nodegraph.api.node", "nodegraph.run.context") not in found  # annotations only (TYPE_CHECKING)


def planted(tmp_path: Path, module: str, source: str) -> Path:
    """A copy of nodegraph/ and nodes/ with ``source`` appended to ``module`` (a relative path)."""
    for folder in ("nodegraph", "nodes"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / module, "a", encoding="utf-8") as fh:
        fh.write("\n" + source + "\n")
    return tmp_path


def test_a_planted_upward_import_is_caught_with_its_place(tmp_path):
    root = planted(tmp_path, "nodegraph/graph/plan.py", "def later():\n    from ..startup import started")
    (problem,) = layers.wrong_way(root)
    assert problem.startswith("nodegraph.graph.plan:") and "nodegraph.graph may not import nodegraph.startup" in problem


def test_a_planted_import_of_the_cli_from_a_pack_is_caught(tmp_path):
    root = planted(tmp_path, "nodes/basic/text.py", "from nodegraph.cli.progress import HumanProgress")
    assert [p for p in layers.wrong_way(root) if "nodegraph_nodes may not import nodegraph.cli" in p]


def test_a_planted_circle_is_caught_even_through_a_lazy_import(tmp_path):
    root = planted(tmp_path, "nodegraph/run/events.py", "def later():\n    from .session import Session")
    assert layers.wrong_way(root) == []  # inside one layer: allowed by the table ...
    assert any({"nodegraph.run.events", "nodegraph.run.session"} <= set(c) for c in layers.circles(root))  # ... not as a circle
