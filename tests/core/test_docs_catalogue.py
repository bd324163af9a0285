"""The docs' lists of built-in packs and socket types are the catalogue's: a pack renamed or a
type added, dropped or renamed without the pages following fails here."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from nodegraph.api.plugins import load_registry

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def catalogue() -> dict:
    registry = load_registry(use_env=False)  # the installed entry points: the built-in packs
    assert registry.failures == []
    return registry.catalogue()


def builtin_packs(catalogue) -> set[str]:
    return {name for name in catalogue["plugins"] if name.startswith("builtin.")}


def test_plugins_page_lists_exactly_the_builtin_entry_points(catalogue):
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    sentence = text[text.index("The built-in packs are entry"):].split(")", 1)[0]
    assert set(re.findall(r"`(builtin\.\w+)`", sentence)) == builtin_packs(catalogue)


def test_every_builtin_pack_the_docs_name_exists(catalogue):
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    named = {(page.name, name) for page in pages
             for name in re.findall(r"\bbuiltin\.\w+", page.read_text(encoding="utf-8"))}
    assert {(page, name) for page, name in named if name not in builtin_packs(catalogue)} == set()


def test_node_authoring_lists_exactly_the_catalogues_socket_types(catalogue):
    text = (DOCS / "node-authoring.md").read_text(encoding="utf-8")
    types = {t["name"] for t in catalogue["types"]}
    listed = text[text.index("Built-in types: `"):].split("`")[1].split()
    assert sorted(listed) == sorted(types - {"*"}) and len(listed) == len(set(listed))
    # the table of what travels on each type: one row per type, nothing else
    table = text[text.index("## What travels on each socket type"):].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \|", table, re.M)
    assert sorted(rows) == sorted(types) and len(rows) == len(set(rows))
