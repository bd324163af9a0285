"""One literal contract: what validation accepts (coerced, defaults filled) is what the cache key,
every hook and the node instance see; edited node code invalidates its cached results."""
from __future__ import annotations

import json
from typing import Any

from core_helpers import cli, link, wf, write

from nodegraph import Node, Socket, Widget, node
from nodegraph.api.errors import WorkflowInvalid
from nodegraph.api.registry import Registry
from nodegraph.graph.validate import build_graph
from nodegraph.graph.workflow import parse_workflow
from nodegraph.run.cache import Cache
from nodegraph.run.events import CollectingSink
from nodegraph.run.session import Session


@node("Probe", category="test", outputs={"text": "STRING"})
class Probe(Node):
    """Reports what the hooks and the instance saw, so a test can compare them."""
    gain: float = Widget(1, ge=0)  # an int default for a float: normalised like a written value
    count: int = Widget(3)
    upstream: Any = Socket("STRING", optional=True)

    @classmethod
    def check_inputs(cls, literals, env):
        problems = [(n, f"hook saw {type(v).__name__}") for n, v in literals.items()
                    if n == "gain" and type(v) is not float]
        return problems + ([("count", "hook saw no default")] if "count" not in literals else [])

    @classmethod
    def fingerprint(cls, literals, env):
        return f"{literals['gain']!r}/{literals['count']!r}"

    def run(self, ctx):
        return {"text": f"{type(self.gain).__name__} {self.gain!r} {self.count!r}"}


def probe_session(registry, env) -> Session:
    reg = Registry()
    for cls in (registry.get("Show"), Probe):
        reg.add_node(cls, "test")
    return Session(reg, env, Cache(memory_bytes=1 << 26))


def run(session, inputs: dict) -> tuple[list[str], str]:
    result = session.run(wf(p=("Probe", inputs), s=("Show", {"value": link("p", "text")})), CollectingSink())
    assert result.ok, result.error
    return result.executed, result.ui["s"]["text"]


def test_an_int_for_a_float_is_the_same_value_key_and_instance(registry, env):
    session = probe_session(registry, env)
    executed, text = run(session, {"gain": 2})
    assert executed == ["p", "s"] and text == "float 2.0 3"
    assert run(session, {"gain": 2.0}) == ([], "float 2.0 3")  # no re-run: one key for one value
    executed, text = run(session, {"gain": 2.5})
    assert executed == ["p", "s"] and text == "float 2.5 3"


def test_omitted_and_explicit_defaults_are_one_key_and_hooks_see_the_filled_dict(registry, env):
    session = probe_session(registry, env)
    executed, text = run(session, {})
    assert executed == ["p", "s"] and text == "float 1.0 3"  # Widget(1) on a float arrives as 1.0
    assert run(session, {"gain": 1.0, "count": 3})[0] == []
    assert run(session, {"gain": 1, "count": 3})[0] == []
    graph = build_graph(parse_workflow(wf(p=("Probe", {}), s=("Show", {"value": link("p", "text")}))),
                        session.registry, env)
    assert graph.nodes["p"].literals == {"gain": 1.0, "count": 3}  # the socket is no literal


def test_a_string_is_never_silently_an_int(registry, env):
    session = probe_session(registry, env)
    try:
        session.prepare(wf(p=("Probe", {"count": "4", "gain": "1.5"}), s=("Show", {"value": link("p", "text")})))
    except WorkflowInvalid as exc:
        found = {(p.node, p.input): p.message for p in exc.problems}
    else:
        raise AssertionError("a string for an int was accepted")
    assert found[("p", "count")] == "'4' is not an integer"
    assert found[("p", "gain")] == "'1.5' is not a number"


@node("Sizes", category="test", output_node=True)
class Sizes(Node):
    sizes: tuple[int, int] = Widget((8, 8))

    def run(self, ctx):
        ctx.ui["text"] = repr(self.sizes)


def test_json_inputs_are_strict_too_and_arrive_as_their_declared_type(env):
    reg = Registry()
    reg.add_node(Sizes, "test")
    session = Session(reg, env, Cache(memory_bytes=1 << 20))
    try:
        session.prepare(wf(z=("Sizes", {"sizes": ["4", 4]})))
    except WorkflowInvalid as exc:
        assert [(p.node, p.input, p.code) for p in exc.problems] == [("z", "sizes", "bad_value")]
    else:
        raise AssertionError("a string for an int inside a JSON input was accepted")
    result = session.run(wf(z=("Sizes", {"sizes": [4, 16]})))
    assert result.ui["z"]["text"] == "(4, 16)"  # a JSON list fills the declared tuple


PACK_INIT = "from .impl import Greeting  # noqa: F401\n"
PACK_IMPL = '''
from nodegraph import Node, Widget, node
from .words import WORD

@node("Greeting", category="text", outputs={"text": "STRING"})
class Greeting(Node):
    name: str = Widget("world")
    def run(self, ctx):
        return {"text": WORD + ", " + self.name}
'''


def test_editing_a_plugin_package_between_two_cli_runs_reruns_its_node(tmp_path):
    pack = tmp_path / "plugins" / "greetings"
    pack.mkdir(parents=True)
    (pack / "__init__.py").write_text(PACK_INIT)
    (pack / "impl.py").write_text(PACK_IMPL)
    (pack / "words.py").write_text('WORD = "hello"\n')
    path = write(tmp_path / "w.json", wf(g=("Greeting", {"name": "you"}), s=("Show", {"value": link("g", "text")})))
    args = ("run", str(path), "--plugins", str(tmp_path / "plugins"), "--cache-dir", str(tmp_path / "cache"),
            "--events", "jsonl")

    def shown(out) -> tuple[int, str]:
        assert out.returncode == 0, out.stderr
        events = [json.loads(line) for line in out.stdout.splitlines()]
        done = next(e for e in events if e["event"] == "done")
        show = next(e for e in events if e.get("node") == "s" and e["event"] in ("executed", "cached"))
        return done["executed"], show["ui"]["text"]

    assert shown(cli(*args, cwd=tmp_path)) == (2, "hello, you")
    assert shown(cli(*args, cwd=tmp_path)) == (0, "hello, you")  # the disk cache serves it
    (pack / "words.py").write_text('WORD = "goodbye"\n')  # a helper module of the pack, no version bump
    assert shown(cli(*args, cwd=tmp_path)) == (2, "goodbye, you")
