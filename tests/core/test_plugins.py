"""Plugins: entry points and folders; broken or clashing plugins never break startup."""
import json
import subprocess
import sys
import textwrap

from core_helpers import cli, link, wf, write

from nodegraph.api.plugins import load_registry

GOOD = textwrap.dedent('''
    from nodegraph import Node, Widget, node

    @node("Shout", category="text", outputs={"text": "STRING"})
    class Shout(Node):
        """Upper-case a text."""
        text: str = Widget("hello")
        def run(self, ctx):
            return {"text": self.text.upper() + "!"}
''')


def test_broken_and_clashing_plugins_are_reported_by_name_and_the_rest_load(tmp_path):
    (tmp_path / "a_good.py").write_text(GOOD)
    (tmp_path / "b_broken.py").write_text("import this_module_does_not_exist\n")
    (tmp_path / "c_clash.py").write_text(GOOD.replace("upper()", "lower()"))
    (tmp_path / "d_exits.py").write_text("raise SystemExit(3)\n")
    pkg = tmp_path / "e_package"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .impl import *\nfrom .impl import Whisper\n")
    (pkg / "impl.py").write_text(GOOD.replace("Shout", "Whisper").replace("upper()", "lower()"))
    registry = load_registry([tmp_path], use_env=False)
    failures = {f.plugin: f.message for f in registry.failures if not f.plugin.startswith("builtin.")}
    assert "ModuleNotFoundError" in failures[f"{tmp_path.name}/b_broken.py"]
    clash = failures[f"{tmp_path.name}/c_clash.py"]
    assert "'Shout'" in clash and f"{tmp_path.name}/a_good.py" in clash and "refused" in clash
    assert f"{tmp_path.name}/d_exits.py" in failures
    assert registry.origin["Shout"] == f"{tmp_path.name}/a_good.py"  # the first one wins
    assert "Whisper" in registry.nodes and "Int" in registry.nodes


def test_a_folder_plugin_cannot_shadow_a_builtin_node(tmp_path):
    """Built-ins load first, so a plugin folder defining SaveImage is refused by name and the
    built-in SaveImage is the one that runs."""
    (tmp_path / "shadow.py").write_text(textwrap.dedent('''
        from nodegraph import Node, Widget, node

        @node("SaveImage", category="image", output_node=True)
        class FakeSave(Node):
            """Pretends to save."""
            prefix: str = Widget("x")
            def run(self, ctx):
                return None
    '''))
    registry = load_registry([tmp_path], use_env=False)
    refusal = {f.plugin: f.message for f in registry.failures}[f"{tmp_path.name}/shadow.py"]
    assert "'SaveImage'" in refusal and "builtin.basic" in refusal
    assert registry.origin["SaveImage"] == "builtin.basic"
    assert registry.nodes["SaveImage"].__module__ == "nodegraph_nodes.basic.image"


def test_builtin_packs_load_cleanly_through_entry_points():
    registry = load_registry(use_env=False)
    assert not registry.failures, registry.failures
    assert registry.origin["Int"] == "builtin.basic" and registry.origin["SaveImage"] == "builtin.basic"
    assert registry.origin["LCMSampler"] == "builtin.sdxl" and registry.origin["LLMTeacher"] == "builtin.llm"


def test_plugin_folder_from_environment_variable(tmp_path):
    (tmp_path / "shout.py").write_text(GOOD)
    path = write(tmp_path / "w.json", wf(t=("Shout", {"text": "hi"}), s=("Show", {"value": link("t", "text")})))
    out = cli("run", str(path), "--no-cache", "--events", "jsonl", cwd=tmp_path, env={"NODEGRAPH_PLUGINS": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    shows = [json.loads(l) for l in out.stdout.splitlines() if '"executed"' in l and '"s"' in l]
    assert shows[0]["ui"]["text"] == "HI!"


def test_an_installed_third_party_package_provides_nodes(tmp_path):
    """Build and pip-install the example pack of docs/plugins.md, then run a workflow using it."""
    src = tmp_path / "src"
    (src / "nodegraph_shout").mkdir(parents=True)
    (src / "nodegraph_shout" / "__init__.py").write_text(GOOD)
    (src / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "nodegraph-shout"
        version = "1.0.0"
        dependencies = ["nodegraph"]

        [project.entry-points."nodegraph.nodes"]
        shout = "nodegraph_shout"
    '''))
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--no-index", "--target", str(site), str(src)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    path = write(tmp_path / "w.json", wf(t=("Shout", {"text": "plugins"}), s=("Show", {"value": link("t", "text")})))
    env = {"PYTHONPATH": str(site)}
    listed = cli("nodes", "--json", env=env)
    entry = [n for n in json.loads(listed.stdout)["nodes"] if n["type"] == "Shout"][0]
    assert entry["plugin"] == "shout" and entry["outputs"] == [{"name": "text", "type": "STRING", "description": ""}]
    out = cli("run", str(path), "--no-cache", "--events", "jsonl", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert '"text": "PLUGINS!"' in out.stdout
