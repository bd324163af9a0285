"""Which files key a pack's cached results: every .py of a package, nothing else."""
from __future__ import annotations

from types import ModuleType

from nodegraph.plugins import _pack_sources


def module(name, path=None, file=None):
    mod = ModuleType(name)
    if path is not None:
        mod.__path__ = path
    if file is not None:
        mod.__file__ = file
    return mod


def test_package_sources_are_every_python_file(tmp_path):
    pkg = tmp_path / "pack"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__pycache__").mkdir()
    for rel in ("__init__.py", "nodes.py", "sub/helpers.py", "__pycache__/nodes.py", "README.md", "data.json"):
        (pkg / rel).write_text("# x")
    got = _pack_sources(module("pack", [str(pkg)], str(pkg / "__init__.py")))
    assert got == sorted(str(pkg / r) for r in ("__init__.py", "nodes.py", "sub/helpers.py"))


def test_namespace_package_spans_its_folders(tmp_path):
    for part in ("a", "b"):
        (tmp_path / part).mkdir()
        (tmp_path / part / f"{part}.py").write_text("")
    got = _pack_sources(module("ns", [str(tmp_path / "b"), str(tmp_path / "a")]))
    assert got == [str(tmp_path / "a" / "a.py"), str(tmp_path / "b" / "b.py")]


def test_single_module_is_its_own_file(tmp_path):
    (tmp_path / "other.py").write_text("")
    assert _pack_sources(module("one", file=str(tmp_path / "one.py"))) == [str(tmp_path / "one.py")]
    assert _pack_sources(module("one", [], str(tmp_path / "one.py"))) == [str(tmp_path / "one.py")]
    assert _pack_sources(module("builtin")) == []
