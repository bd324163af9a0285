"""Bytecode of read-only installs goes to nodegraph's cache folder (nodegraph/bytecode.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nodegraph import bytecode, cli


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A source-only package ``slowpkg`` on sys.path; returns its folder."""
    folder = tmp_path / "site" / "slowpkg"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(folder.parent))
    return folder


def read_only(monkeypatch, *folders: Path) -> None:
    """os.access says no to writing in ``folders`` (tests run as root, where chmod does not stop writes)."""
    real = os.access
    denied = {str(f) for f in folders}
    monkeypatch.setattr(bytecode.os, "access",
                        lambda path, mode, **kw: False if mode == os.W_OK and str(path) in denied else real(path, mode, **kw))


@pytest.fixture
def prefix_restored():
    saved = sys.pycache_prefix
    yield
    sys.pycache_prefix = saved


def test_a_read_only_package_without_bytecode_is_named(package, monkeypatch):
    assert bytecode.bytecode_unavailable(("slowpkg",)) == []  # writable: Python stores it itself
    read_only(monkeypatch, package)
    assert bytecode.bytecode_unavailable(("slowpkg", "no_such_package_here")) == ["slowpkg"]


def test_shipped_bytecode_is_enough(package, monkeypatch):
    import py_compile
    py_compile.compile(str(package / "__init__.py"), cfile=bytecode.importlib.util.cache_from_source(
        str(package / "__init__.py")))
    read_only(monkeypatch, package, package / "__pycache__")
    assert bytecode.bytecode_unavailable(("slowpkg",)) == []


def test_switches_only_when_needed(package, monkeypatch, tmp_path, prefix_restored):
    target = tmp_path / "cache" / "pycache"
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert not bytecode.keep_bytecode_in(target, ("slowpkg",))
    assert sys.pycache_prefix is None
    read_only(monkeypatch, package)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # -B / PYTHONDONTWRITEBYTECODE: theirs wins
    assert not bytecode.keep_bytecode_in(target, ("slowpkg",))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "theirs"))  # PYTHONPYCACHEPREFIX: theirs wins
    assert not bytecode.keep_bytecode_in(target, ("slowpkg",))
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert bytecode.keep_bytecode_in(target, ("slowpkg",))
    assert sys.pycache_prefix == str(target) and target.is_dir()


def test_a_fresh_process_stores_the_bytecode_there(package, tmp_path):
    """Python honours the prefix set at run time: the module's .pyc lands under the folder."""
    target = tmp_path / "cache" / "pycache"
    code = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        sys.path.insert(0, {str(package.parent)!r})
        from nodegraph import bytecode
        real = os.access
        bytecode.os.access = lambda p, m, **kw: False if m == os.W_OK and str(p) == {str(package)!r} else real(p, m, **kw)
        switched = bytecode.keep_bytecode_in(Path({str(target)!r}), ("slowpkg",))
        import slowpkg
        print(switched, slowpkg.VALUE)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "1"]
    stored = list(target.rglob("slowpkg/__init__*.pyc"))
    assert len(stored) == 1 and not (package / "__pycache__").exists()


def test_run_and_serve_point_it_at_the_cache_folder(tmp_path, monkeypatch, prefix_restored):
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(bytecode, "bytecode_unavailable", lambda packages=(): ["torch"])
    workflow = tmp_path / "w.json"
    workflow.write_text(json.dumps({"format": "nodegraph/workflow", "version": 1, "nodes": {
        "solid": {"type": "SolidImage", "inputs": {"width": 8, "height": 8}},
        "save": {"type": "SaveImage", "inputs": {"images": {"from": "solid", "output": "image"}}}}}))
    cache = tmp_path / "cache"
    code = cli.main(["run", str(workflow), "--cache-dir", str(cache), "--out", str(tmp_path / "out"), "--quiet"])
    assert sys.pycache_prefix == str(cache / "pycache")
    assert code == cli.EXIT_OK
