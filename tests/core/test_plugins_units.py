"""Plugin folders loaded in-process, and which files key a pack's cached results."""
from __future__ import annotations

import os
import re
import textwrap
from types import ModuleType, SimpleNamespace

from nodegraph.api.node import implementation_digest
from nodegraph.api.plugins import PLUGINS_ENV, _ep_module, _load, _pack_sources, load_registry
from nodegraph.api.registry import Registry


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


def test_a_plugin_folder_skips_private_hidden_and_data_entries(tmp_path):
    folder = tmp_path / "mine"
    plugin_file(folder, "Visible")
    for name in ("_helpers.py", ".scratch.py"):  # sorted before nodes.py; importing them would fail
        (folder / name).write_text("raise RuntimeError('not a plugin')\n")
    (folder / "assets").mkdir()  # a data folder: no __init__.py
    (folder / "assets" / "lut.py").write_text("raise RuntimeError('not a plugin')\n")
    registry = load_registry([folder], use_entry_points=False, use_env=False)
    assert registry.failures == [] and registry.plugins == ["mine/nodes.py"] and "Visible" in registry.nodes


def test_a_missing_folder_is_reported_and_the_next_one_still_loads(tmp_path):
    plugin_file(tmp_path / "there", "There")
    registry = load_registry([tmp_path / "gone", tmp_path / "there"], use_entry_points=False, use_env=False)
    assert [(f.plugin, f.message) for f in registry.failures] == \
        [(str(tmp_path / "gone"), "plugin folder does not exist")]
    assert "There" in registry.nodes


def test_folders_from_the_environment_come_after_the_given_ones(tmp_path, monkeypatch):
    for name in ("given", "env_a", "env_b"):
        plugin_file(tmp_path / name, f"From_{name}")
    monkeypatch.setenv(PLUGINS_ENV, os.pathsep.join([str(tmp_path / "env_a"), "", str(tmp_path / "env_b")]))
    registry = load_registry([tmp_path / "given"], use_entry_points=False)
    assert registry.failures == []
    assert registry.plugins == ["given/nodes.py", "env_a/nodes.py", "env_b/nodes.py"]
    assert load_registry([tmp_path / "given"], use_entry_points=False, use_env=False).plugins == ["given/nodes.py"]


def test_named_modules_load_as_packs(tmp_path, monkeypatch):
    plugin_file(tmp_path / "site", "Named")
    (tmp_path / "site" / "nodes.py").rename(tmp_path / "site" / "acme_named_pack.py")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry = load_registry(use_entry_points=False, use_env=False, modules=["acme_named_pack"])
    assert registry.failures == [] and registry.origin == {"Named": "acme_named_pack"}


def test_an_entry_point_may_name_a_function_returning_node_classes(tmp_path, monkeypatch):
    plugin_file(tmp_path / "site", "Provided")
    (tmp_path / "site" / "nodes.py").rename(tmp_path / "site" / "acme_provider.py")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    from acme_provider import Plugged

    for target in (lambda: [Plugged], [Plugged]):  # a callable, or the list itself
        entry_point = SimpleNamespace(name="acme.nodes", load=lambda target=target: target)
        registry = Registry()
        _load(registry, entry_point.name, lambda: _ep_module(entry_point))
        assert registry.failures == [] and registry.origin == {"Provided": "acme.nodes"}


def test_import_failures_say_what_and_where(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "exits.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "mine" / "raises.py").write_text("import os\n\nraise RuntimeError('half-written plugin')\n")
    (tmp_path / "mine" / "typo.py").write_text("x = (\n")
    registry = load_registry([tmp_path / "mine"], use_entry_points=False, use_env=False)
    assert [(f.plugin, f.message) for f in registry.failures] == [
        ("mine/exits.py", "called exit during import: 3"),
        ("mine/raises.py", "failed to import: RuntimeError: half-written plugin (raises.py:3)"),
        # the error names the file and line itself; the import machinery's frames are no place to point at
        ("mine/typo.py", "failed to import: SyntaxError: '(' was never closed (typo.py, line 1)"),
    ]


def test_bad_declarations_name_their_plugin(tmp_path):
    plugin_file(tmp_path / "mine", "Declares", body="SOCKET_TYPES = ['MASK']; FILE_KINDS = ['luts']; DEMOS = ['x']")
    registry = load_registry([tmp_path / "mine"], use_entry_points=False, use_env=False)
    assert [(f.plugin, f.message) for f in registry.failures] == [
        ("mine/nodes.py", "'MASK' in SOCKET_TYPES is not a SocketType"),
        ("mine/nodes.py", "'luts' in FILE_KINDS is not a FileKind"),
        ("mine/nodes.py", "'x' in DEMOS is not a DemoAsset"),
    ]
    assert "Declares" in registry.nodes  # its nodes still load



def test_something_in_nodes_that_is_not_a_node_is_named_with_its_plugin(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "nodes.py").write_text(textwrap.dedent('''
        from nodegraph import Node, node

        @node("StillLoads", category="test", output_node=True)
        class StillLoads(Node):
            def run(self, ctx):
                return None

        class Forgot(Node):  # the @node decorator left out
            def run(self, ctx):
                return None

        NODES = ["Blur", Forgot, StillLoads]  # a name where the class belongs
    '''))
    registry = load_registry([tmp_path / "mine"], use_entry_points=False, use_env=False)
    assert [f.plugin for f in registry.failures] == ["mine/nodes.py", "mine/nodes.py"]
    name, forgot = (f.message for f in registry.failures)
    assert re.fullmatch(r"<class '[\w.]+\.Forgot'> in NODES is not a @node class", forgot), forgot
    assert name == "'Blur' in NODES is not a @node class"
    assert list(registry.nodes) == ["StillLoads"]  # the plugin's real node still loads

def package_plugin(folder, helper: str) -> type:
    """A package plugin whose node uses a helper module; returns the registered node class."""
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("from . import nodes  # noqa: F401\n")
    (folder / "helper.py").write_text(helper)
    (folder / "nodes.py").write_text(textwrap.dedent('''
        from nodegraph import Node, node
        from .helper import GAIN

        @node("Helped", category="test", output_node=True)
        class Helped(Node):
            def run(self, ctx):
                ctx.ui["text"] = str(GAIN)
    '''))
    registry = load_registry([folder.parent], use_entry_points=False, use_env=False)
    assert registry.failures == []
    return registry.nodes["Helped"]


def test_a_packs_helper_modules_are_part_of_its_nodes_implementation(tmp_path):
    """Cached results are keyed by the implementation: a helper with other code must re-key."""
    first = package_plugin(tmp_path / "a" / "pack", "GAIN = 2\n")
    same = package_plugin(tmp_path / "b" / "pack", "GAIN = 2\n")
    edited = package_plugin(tmp_path / "c" / "pack", "GAIN = 3\n")
    assert first is not same and implementation_digest(first) == implementation_digest(same)
    assert implementation_digest(edited) != implementation_digest(first)


def test_every_node_module_of_a_package_registers_when_one_shares_a_helper(tmp_path):
    pack = tmp_path / "plugins" / "family"
    pack.mkdir(parents=True)
    (pack / "__init__.py").write_text("from . import later, helper, first  # noqa: F401\n")
    (pack / "helper.py").write_text("SCALE = 2\n")
    node_module = textwrap.dedent('''
        from nodegraph import Node, node
        {imports}

        @node("{name}", category="test", output_node=True)
        class {name}(Node):
            def run(self, ctx):
                return None
    ''')
    for name, imports in (("first", "from . import helper  # noqa: F401"), ("later", "")):
        (pack / f"{name}.py").write_text(node_module.replace("{name}", name.title()).replace("{imports}", imports))
    registry = load_registry([pack.parent], use_entry_points=False, use_env=False)
    assert registry.failures == [] and {"First", "Later"} <= set(registry.nodes)
