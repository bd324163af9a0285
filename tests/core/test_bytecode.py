"""Bytecode that Python cannot or may not write beside an install goes to nodegraph's cache
folder (nodegraph/startup/bytecode.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodegraph.cli import main as cli
from nodegraph.startup import bytecode


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


def test_a_package_without_bytecode_it_cannot_get_is_named(package, monkeypatch):
    assert bytecode.bytecode_unavailable(("slowpkg",), writes_allowed=True) == []  # Python stores it itself
    assert bytecode.bytecode_unavailable(("slowpkg",), writes_allowed=False) == ["slowpkg"]  # -B
    read_only(monkeypatch, package)
    assert bytecode.bytecode_unavailable(("slowpkg", "no_such_package_here"), writes_allowed=True) == ["slowpkg"]


def test_shipped_bytecode_is_enough(package, monkeypatch):
    import py_compile
    py_compile.compile(str(package / "__init__.py"), cfile=bytecode.importlib.util.cache_from_source(
        str(package / "__init__.py")))
    read_only(monkeypatch, package, package / "__pycache__")
    assert bytecode.bytecode_unavailable(("slowpkg",)) == []


def test_switches_only_when_needed(package, monkeypatch, tmp_path, prefix_restored):
    target = tmp_path / "cache" / "pycache"
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.delenv("NODEGRAPH_PYCACHE", raising=False)
    assert not bytecode.keep_bytecode_in(target, ("slowpkg",))  # writable: nothing to do
    assert sys.pycache_prefix is None
    read_only(monkeypatch, package)
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "theirs"))  # PYTHONPYCACHEPREFIX: theirs wins
    assert not bytecode.keep_bytecode_in(target, ("slowpkg",))
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setenv("NODEGRAPH_PYCACHE", "0")  # turned off
    assert not bytecode.keep_bytecode_in(target, ("slowpkg",))
    monkeypatch.delenv("NODEGRAPH_PYCACHE")
    assert bytecode.keep_bytecode_in(target, ("slowpkg",))
    assert sys.pycache_prefix == str(target) and target.is_dir()


def test_bytecode_writing_turned_off_still_gets_our_folder(package, monkeypatch, tmp_path, prefix_restored):
    """PYTHONDONTWRITEBYTECODE (container images set it): writes go to our folder, none beside the sources."""
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.delenv("NODEGRAPH_PYCACHE", raising=False)
    assert bytecode.keep_bytecode_in(tmp_path / "pycache", ("slowpkg",))
    assert sys.pycache_prefix == str(tmp_path / "pycache") and sys.dont_write_bytecode is False


@pytest.mark.parametrize("how", ["read-only", "PYTHONDONTWRITEBYTECODE"])
def test_a_fresh_process_stores_the_bytecode_there_and_the_next_reads_it(package, tmp_path, how):
    """Python honours the prefix set at run time: the module's .pyc lands under the folder, not
    beside the source, and a second process loads it from there."""
    target = tmp_path / "cache" / "pycache"
    deny = (f"real = os.access\n"
            f"bytecode.os.access = lambda p, m, **kw: False if m == os.W_OK and str(p) == {str(package)!r} "
            f"else real(p, m, **kw)\n") if how == "read-only" else ""
    code = (f"import os, sys\nfrom pathlib import Path\nsys.path.insert(0, {str(package.parent)!r})\n"
            f"from nodegraph.startup import bytecode\n{deny}"
            f"switched = bytecode.keep_bytecode_in(Path({str(target)!r}), ('slowpkg',))\n"
            "import slowpkg\nprint(switched, slowpkg.VALUE, type(slowpkg.__spec__.loader).__name__, "
            "os.path.exists(slowpkg.__spec__.cached))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE",
                                                            "NODEGRAPH_PYCACHE")}
    if how == "PYTHONDONTWRITEBYTECODE":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert first.split()[:2] == ["True", "1"]
    stored = list(target.rglob("slowpkg/__init__*.pyc"))
    assert len(stored) == 1 and not (package / "__pycache__").exists()
    # The next process finds it: make the source unreadable as source but keep its stat, so only
    # the stored bytecode can give the value (a recompile would read the new text).
    stat = (package / "__init__.py").stat()
    (package / "__init__.py").write_text("VALUE = 2\n")
    os.utime(package / "__init__.py", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert second.split()[:2] == ["True", "1"]


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
    # serve switches before it imports torch (check_device), with its own --cache-dir
    from nodegraph.server import app
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(app, "serve_forever", lambda args: cli.EXIT_OK)
    assert cli.main(["serve", "--cache-dir", str(tmp_path / "served"), "--device", "cpu"]) == cli.EXIT_OK
    assert sys.pycache_prefix == str(tmp_path / "served" / "pycache")
