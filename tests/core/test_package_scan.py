"""The stored packages_distributions() scan: same answer, read back instead of rescanned, and
rescanned when a distribution is installed."""
from __future__ import annotations

import importlib.metadata

from nodegraph.startup.package_scan import package_scan_cached, stored_scan


def _install_fake_distribution(site, name: str, version: str, top_level: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(top_level + "\n")


def test_stored_scan_answers_like_the_real_one_and_is_read_back(tmp_path):
    calls = []

    def scan():
        calls.append(1)
        return importlib.metadata.packages_distributions()

    cached = stored_scan(tmp_path / "store", scan)
    first = cached()
    assert first == importlib.metadata.packages_distributions() and first  # torch, numpy, ... are there
    assert cached() == first and len(calls) == 1  # read back: no second scan
    assert len(list((tmp_path / "store").glob("packages-*.json"))) == 1


def test_installing_a_distribution_is_seen_and_only_the_latest_copy_kept(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    calls = []

    def scan():
        calls.append(1)
        return importlib.metadata.packages_distributions()

    cached = stored_scan(tmp_path / "store", scan)
    assert "ng_fake_pkg" not in cached()
    _install_fake_distribution(site, "ng-fake", "1.0", "ng_fake_pkg")
    assert cached()["ng_fake_pkg"] == ["ng-fake"] and len(calls) == 2
    assert len(list((tmp_path / "store").glob("packages-*.json"))) == 1


def test_the_standard_function_is_replaced_only_inside_the_block(tmp_path):
    original = importlib.metadata.packages_distributions
    with package_scan_cached(tmp_path / "store"):
        assert importlib.metadata.packages_distributions is not original
        answer = importlib.metadata.packages_distributions()
    assert importlib.metadata.packages_distributions is original
    assert answer == original() and list((tmp_path / "store").glob("packages-*.json"))
    with package_scan_cached(None):
        assert importlib.metadata.packages_distributions is original


def test_an_unwritable_store_still_answers(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert stored_scan(blocker / "store", lambda: {"x": ["y"]})() == {"x": ["y"]}


def test_a_stored_copy_that_is_not_a_mapping_is_rescanned(tmp_path):
    calls = []

    def scan():
        calls.append(1)
        return {"pkg": ["dist"]}

    assert stored_scan(tmp_path, scan)() == {"pkg": ["dist"]}
    for stored in tmp_path.glob("packages-*.json"):
        stored.write_text("[1, 2]")  # valid JSON, not what a scan gives
    assert stored_scan(tmp_path, scan)() == {"pkg": ["dist"]} and len(calls) == 2


def test_the_environment_key_sees_every_folder_on_the_path_and_rewritten_distributions(tmp_path, monkeypatch):
    import os

    from nodegraph.startup.package_scan import environment_key
    archive = tmp_path / "libs.zip"  # a sys.path entry that is not a folder: its own mtime stands in
    archive.write_bytes(b"PK")
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(archive))
    before = environment_key()
    _install_fake_distribution(site, "ng-fake", "1.0", "ng_fake_pkg")  # after the archive on the path
    installed = environment_key()
    assert installed != before
    info = site / "ng-fake-1.0.dist-info"  # reinstalled in place: same name, new mtime
    os.utime(info, ns=(info.stat().st_atime_ns, info.stat().st_mtime_ns + 10**9))
    assert environment_key() not in (before, installed)
