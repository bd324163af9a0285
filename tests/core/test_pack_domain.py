"""The core knows no domain: a third-party pack declares its own socket type, file kind and
demo asset, and the catalogue, validation, execution and the server's file list all follow."""
from __future__ import annotations

import textwrap

import pytest
from core_helpers import link, wf

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.api.plugins import load_registry
from nodegraph.files.roots import FileRoots
from nodegraph.run.cache import Cache
from nodegraph.run.context import Environment
from nodegraph.run.session import Session
from nodegraph.server import protocol

HINT_PACK = textwrap.dedent('''
    """A pack with its own domain: HINT values, controlnet files, a built demo hint."""
    from pathlib import Path
    from typing import Any
    from nodegraph import DemoAsset, FileInput, FileKind, Node, Socket, SocketType, node

    SOCKET_TYPES = [SocketType("HINT", description="a control hint", color="#123456",
                               check=lambda v: isinstance(v, dict) and "text" in v)]
    FILE_KINDS = [FileKind("controlnet", "models", "control hint files")]

    def build(demo_dir: Path) -> Path:
        path = Path(demo_dir) / "tiny-hint.txt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("built demo hint")
        return path

    def locate(demo_dir: Path):
        path = Path(demo_dir) / "tiny-hint.txt"
        return path if path.exists() else None

    DEMOS = [DemoAsset("tiny-hint", "controlnet", build=build, locate=locate, version="3")]

    @node("LoadHint", category="hint", outputs={"hint": "HINT"})
    class LoadHint(Node):
        file: str = FileInput("controlnet", default="demo:tiny-hint")
        def run(self, ctx):
            if ctx.env.demo(self.file):
                path = ctx.env.materialise(self.file)
            else:
                path = ctx.env.files.resolve("controlnet", self.file)
            return {"hint": {"text": path.read_text()}}

    @node("ShowHint", category="hint", output_node=True)
    class ShowHint(Node):
        hint: Any = Socket("HINT")
        def run(self, ctx):
            ctx.ui["text"] = self.hint["text"]
''')


@pytest.fixture
def hint_session(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "hints.py").write_text(HINT_PACK)
    registry = load_registry([plugins], use_env=False)
    roots = FileRoots(input_dir=tmp_path / "input", models_dir=tmp_path / "models", output_dir=tmp_path / "out")
    env = Environment(files=roots, device="cpu", demo_dir=tmp_path / "demo")
    return Session(registry, env, Cache(memory_bytes=1 << 20))


def hint_workflow(file: str | None = None) -> dict:
    return wf(h=("LoadHint", {} if file is None else {"file": file}), s=("ShowHint", {"hint": link("h", "hint")}))


def test_the_catalogue_lists_the_packs_type_file_kind_and_demo(hint_session):
    catalogue = hint_session.registry.catalogue()
    assert not catalogue["failures"], catalogue["failures"]
    assert {"name": "HINT", "parents": [], "description": "a control hint", "color": "#123456"} in catalogue["types"]
    assert {"name": "controlnet", "location": "models", "description": "control hint files"} in catalogue["file_kinds"]
    assert {"name": "demo:tiny-hint", "kind": "controlnet", "version": "3", "description": ""} in catalogue["demos"]
    load = next(n for n in catalogue["nodes"] if n["type"] == "LoadHint")
    assert load["inputs"][0]["file"]["demos"] == ["demo:tiny-hint"]
    # The core itself declares no domain type or kind.
    core = load_registry(use_entry_points=False, use_env=False).catalogue()
    assert {t["name"] for t in core["types"]} == {"*", "INT", "FLOAT", "STRING", "BOOLEAN"}
    assert {k["name"] for k in core["file_kinds"]} == {"input", "output"} and core["demos"] == []


def test_validation_and_runs_accept_the_demo_and_the_kinds_folder(hint_session, tmp_path):
    result = hint_session.run(hint_workflow())
    assert result.ok, result.error
    assert result.ui["s"]["text"] == "built demo hint"
    assert (tmp_path / "demo" / "tiny-hint.txt").is_file()
    (tmp_path / "models" / "controlnet").mkdir(parents=True)
    (tmp_path / "models" / "controlnet" / "edges.txt").write_text("user hint")
    assert hint_session.run(hint_workflow("edges.txt")).ui["s"]["text"] == "user hint"
    with pytest.raises(WorkflowInvalid) as exc:
        hint_session.prepare(hint_workflow("demo:nope"))
    (problem,) = exc.value.problems
    assert (problem.node, problem.input) == ("h", "file")
    assert problem.message == "unknown demo 'demo:nope'; known controlnet demos: demo:tiny-hint"


def test_a_demo_is_keyed_by_its_version_so_building_it_changes_no_key(hint_session):
    first = hint_session.run(hint_workflow())  # builds the demo
    again = hint_session.run(hint_workflow("demo:tiny-hint"))
    assert first.executed == ["h", "s"] and again.executed == [] and again.cached == ["h", "s"]


def test_the_servers_file_list_accepts_the_packs_kind(hint_session, tmp_path):
    kinds = hint_session.registry.file_kinds
    assert protocol.parse('{"type": "files", "kind": "controlnet"}', kinds)["kind"] == "controlnet"
    with pytest.raises(protocol.ProtocolError) as exc:
        protocol.parse('{"type": "files", "kind": "hologram"}', kinds)  # nobody declared it
    assert exc.value.code == "bad_kind"
    (tmp_path / "models" / "controlnet").mkdir(parents=True)
    (tmp_path / "models" / "controlnet" / "edges.txt").write_text("x")
    assert "edges.txt" in hint_session.env.files.listing("controlnet")
