"""Entry points of nodegraph's groups, kept between processes (api/entry_points.py): the kept
copy answers like importlib.metadata, and installing, rewriting or removing a distribution is
seen at once."""
from __future__ import annotations

import importlib.metadata
import os
import shutil

import pytest

from nodegraph.api import entry_points as eps


def _install(site, name: str, lines: list[str], mtime: int) -> None:
    """A distribution as pip leaves it: a ``*.dist-info`` folder with METADATA and entry_points.txt."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[nodegraph.nodes]\n" + "\n".join(lines) + "\n")
    os.utime(info, ns=(mtime, mtime))  # distinct mtimes: a coarse clock must not hide a change
    os.utime(site, ns=(mtime, mtime))


def _nodes() -> list[tuple[str, str]]:
    return [(ep.name, ep.value) for ep in eps.installed_entry_points("nodegraph.nodes")]


def _scanned() -> list[tuple[str, str]]:
    return [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group="nodegraph.nodes")]


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("NODEGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("NODEGRAPH_STORED_SCANS", raising=False)
    eps._kept.cache_clear()
    yield folder
    eps._kept.cache_clear()


def test_kept_entry_points_follow_installs_rewrites_and_removals(site):
    _install(site, "acme_pack", ["acme = acme_nodes"], 1_000_000_000_000_000_000)
    assert ("acme", "acme_nodes") in _nodes()
    assert _nodes() == _scanned()  # the same entries, in the same order, as a scan gives
    _install(site, "acme_pack", ["acme = acme_nodes.v2", "acme_extra = acme_extra"], 1_000_000_000_100_000_000)
    assert {("acme", "acme_nodes.v2"), ("acme_extra", "acme_extra")} <= set(_nodes())
    assert ("acme", "acme_nodes") not in _nodes() and _nodes() == _scanned()
    shutil.rmtree(site / "acme_pack-1.0.dist-info")
    os.utime(site, ns=(1_000_000_000_200_000_000,) * 2)
    assert not any(name.startswith("acme") for name, _ in _nodes())


def test_a_new_process_reads_the_kept_copy_without_scanning(site, monkeypatch):
    _install(site, "acme_pack", ["acme = acme_nodes"], 1_000_000_000_000_000_000)
    first = _nodes()
    assert (eps.default_cache_dir() / "packages").is_dir()
    eps._kept.cache_clear()  # as in a new process

    def no_scan(*args, **kwargs):
        raise AssertionError("scanned the distributions again")
    monkeypatch.setattr(importlib.metadata, "entry_points", no_scan)
    assert _nodes() == first


def test_stored_scans_off_scans_every_time(site, monkeypatch):
    monkeypatch.setenv("NODEGRAPH_STORED_SCANS", "0")
    _install(site, "acme_pack", ["acme = acme_nodes"], 1_000_000_000_000_000_000)
    assert ("acme", "acme_nodes") in _nodes()
    assert not (eps.default_cache_dir() / "packages").exists()


def test_an_entry_point_loads_what_it_names_and_knows_its_distribution(site):
    _install(site, "acme_pack", ["acme = json.decoder:JSONDecoder.decode"], 1_000_000_000_000_000_000)
    acme = next(ep for ep in eps.installed_entry_points("nodegraph.nodes") if ep.name == "acme")
    import json.decoder
    assert acme.load() is json.decoder.JSONDecoder.decode
    assert acme.module == "json.decoder" and acme.attr == "JSONDecoder.decode"
    assert acme.dist.metadata["Name"] == "acme_pack"
