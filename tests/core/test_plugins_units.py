"""Plugin folders loaded in-process, and which files key a pack's cached results."""
from __future__ import annotations

import textwrap
from types import ModuleType

from nodegraph.plugins import _pack_sources, load_registry


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


def plugin_file(folder, node_type: str, body: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nodes.py").write_text(textwrap.dedent(f'''
        from nodegraph import Node, node
        {body}
        @node("{node_type}", category="test", output_node=True)
        class Plugged(Node):
            def run(self, ctx):
                return None
    '''))


def test_plugin_files_of_the_same_name_in_two_folders_both_load(tmp_path):
    plugin_file(tmp_path / "team_a", "TeamANode")
    plugin_file(tmp_path / "team_b", "TeamBNode")
    registry = load_registry([tmp_path / "team_a", tmp_path / "team_b"], use_entry_points=False, use_env=False)
    assert registry.failures == []
    assert registry.origin == {"TeamANode": "team_a/nodes.py", "TeamBNode": "team_b/nodes.py"}


def test_a_plugin_that_failed_to_import_loads_once_fixed_in_the_same_process(tmp_path):
    """A notebook or script that opens a new session after fixing its plugin gets the fix."""
    plugin_file(tmp_path / "mine", "Fixed", body="raise RuntimeError('half-written plugin')")
    first = load_registry([tmp_path / "mine"], use_entry_points=False, use_env=False)
    assert [f.plugin for f in first.failures] == ["mine/nodes.py"] and "Fixed" not in first.nodes
    plugin_file(tmp_path / "mine", "Fixed")
    second = load_registry([tmp_path / "mine"], use_entry_points=False, use_env=False)
    assert second.failures == [] and "Fixed" in second.nodes
