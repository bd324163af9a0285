"""Every literal of the LLM pack (Orca-2 data and needle-in-a-haystack nodes) changes what comes
out, compared as content: the records, mappings and score tables the nodes hand on, the answers
and scores, the dataset's and the reports' contents (never file names or bytes with a date).

Two offline models answer: the pack's demo model (``demo:orca-tiny-llama``, a tiny random Llama:
gibberish, but its answer depends on every token of the prompt and on the sampling settings)
for the Orca chain and LocalLLM's settings, and a loopback OpenAI-compatible endpoint whose
answer is the request it received (model, sampling parameters, key, messages), so a literal
that never reaches the request cannot change the answer. A literal of the pack that none of
the lists names fails the coverage test.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orca_helpers import FakeOpenAI
from pack_fixtures import Capture

from sensitivity import same, uncovered

KEY_VARIABLE = "NODEGRAPH_SENSITIVITY_TEST_KEY"


def link(node: str, output: str) -> dict:
    return {"from": node, "output": output}


def echo(tag: str):
    """An answer that is the request: what a literal changes upstream shows in the answer. The
    last line lets scorers tell a right answer ("42 apples") from a wrong one."""
    def reply(body: dict, headers: dict) -> str:
        system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
        user = next((m["content"] for m in body["messages"] if m["role"] == "user"), "")
        if "grade" in system.lower():  # acting as ScoreRecall's or NeedleGrid's judge
            graded = user.split("Answer to grade:", 1)[-1].lower()
            return "Grade: 10" if "plum" in user.lower() and "cardamom" in graded else "Grade: 2"
        request = {"server": tag, "model": body.get("model"), "auth": headers.get("Authorization"),
                   **{k: body.get(k) for k in ("temperature", "top_p", "max_tokens", "seed")},
                   "system": system, "user": user}
        return json.dumps(request, sort_keys=True) + "\nthe total is 42 apples"
    return reply


@pytest.fixture(scope="module")
def endpoints():
    servers = {tag: FakeOpenAI() for tag in ("A", "B")}
    for tag, server in servers.items():
        server.reply = echo(tag)
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    """One demo folder (the tiny Llama is built once) and an input folder with task files and a corpus."""
    root = tmp_path_factory.mktemp("llm-sensitivity")
    inputs = root / "input"
    inputs.mkdir()
    rows = [{"id": "s1", "task_type": "sums", "prompt": "What is 40 + 2?", "reference": "42 apples",
             "question": "What is 6 * 7?", "kind": "maths", "answer": "forty-two", "key": "k1"},
            {"id": "s2", "task_type": "sums", "prompt": "What is 50 - 8?", "reference": "42 apples",
             "question": "What is 84 / 2?", "kind": "maths", "answer": "forty two", "key": "k2"},
            {"id": "w1", "prompt": "Name a colour.", "question": "Name a fruit.", "kind": "words", "key": "k3"}]
    (inputs / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (inputs / "other.jsonl").write_text(json.dumps({"id": "o1", "task_type": "sums", "prompt": "What is 2 + 2?"}) + "\n")
    (inputs / "corpus.txt").write_text("Harbour seals rest on the sandbanks at low tide and swim out at dusk. " * 80)
    return {"root": root, "demo": root / "demo"}


def run(folders, data: dict, tmp_path: Path, ok: bool = True):
    """One fresh session (no node cache, no LLM answer cache carried over), as a new CLI run."""
    from nodegraph.api.plugins import load_registry
    from nodegraph.files.roots import FileRoots
    from nodegraph.graph.workflow import parse_workflow
    from nodegraph.run.cache import Cache
    from nodegraph.run.context import Environment
    from nodegraph.run.session import Session
    registry = load_registry(use_entry_points=False, use_env=False, modules=["nodegraph_nodes.llm"])
    registry.add_node(Capture, "tests")
    out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
    env = Environment(files=FileRoots(input_dir=folders["root"] / "input", output_dir=out),
                      demo_dir=folders["demo"], device="cpu")
    session = Session(registry, env, Cache(enabled=False))
    try:
        result = session.run(parse_workflow(data))
    finally:
        session.close()
    assert result.ok or not ok, result.error
    return result


# What a sidecar or report holds besides its content: the workflow and provenance (which
# change with any input, so comparing them would pass for an ignored one) and the time.
NOT_CONTENT = ("created", "workflow", "provenance")


def file_content(path: str):
    """What a written file says: pixels of a PNG, parsed JSON less NOT_CONTENT, text."""
    if path.endswith(".png"):
        return np.asarray(Image.open(path))
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith(".json"):
        data = json.loads(text)
        return {k: v for k, v in data.items() if k not in NOT_CONTENT} if isinstance(data, dict) else data
    return text


def content(result) -> dict:
    """Captured values, the text output nodes show (their output folder written as <out>: each
    run has its own), and the written files' contents by kind."""
    values = {name: v["value"] for name, v in result.values.items() if "value" in v}
    shown = json.dumps(result.ui, sort_keys=True, default=str)
    if result.outputs:
        shown = shown.replace(str(Path(sorted(result.outputs)[0]).parent), "<out>")
    files = {}
    for path in sorted(result.outputs):
        name = Path(path).name
        kind = name[name.index("_"):] if "_" in name else Path(name).suffix
        files[kind] = file_content(path)
    return {"values": values, "shown": json.loads(shown), "files": files}


def edited(data: dict, changes: dict) -> dict:
    data = json.loads(json.dumps(data))
    for key, value in changes.items():
        node, name = key.split(".")
        data["nodes"][node]["inputs"][name] = value
    return data


# ---- the Orca chain on the demo model -----------------------------------------------------

def orca_chain(changes: dict) -> dict:
    """LoadTasks -> Strategies -> LocalLLM (demo) -> LLMTeacher -> PromptEraser -> SaveDataset and
    PreviewRecords; the teacher's and the eraser's records captured."""
    nodes = {
        "tasks": {"type": "LoadTasks", "inputs": {"file": "tasks.jsonl"}},
        "strategies": {"type": "Strategies", "inputs": {"extra": {"mine": "Answer in French."}}},
        "llm": {"type": "LocalLLM", "inputs": {"model": "demo:orca-tiny-llama", "max_tokens": 6, "seed": 0}},
        "teacher": {"type": "LLMTeacher", "inputs": {"llm": link("llm", "llm"), "tasks": link("tasks", "tasks"),
                                                     "strategies": link("strategies", "strategies"),
                                                     "default_strategy": "direct_answer"}},
        "erase": {"type": "PromptEraser", "inputs": {"records": link("teacher", "records")}},
        "save": {"type": "SaveDataset", "inputs": {"records": link("erase", "records"), "filename": "ds.jsonl"}},
        "preview": {"type": "PreviewRecords", "inputs": {"records": link("erase", "records"), "count": 3,
                                                         "max_chars": 300}},
        "taught": {"type": "TestCapture", "inputs": {"value": link("teacher", "records")}},
        "erased": {"type": "TestCapture", "inputs": {"value": link("erase", "records")}},
    }
    return edited({"format": "nodegraph/workflow", "version": 1, "nodes": nodes}, changes)


def strategy(name: str, text: str) -> tuple:
    """Strategies.<name> changed, with the teacher using that strategy in both runs."""
    return ("Strategies", name, {"teacher.default_strategy": name}, {f"strategies.{name}": text})


ORCA_CHANGES = [  # (node type, input, both runs' inputs, the change)
    ("LoadTasks", "file", {}, {"tasks.file": "other.jsonl"}),
    ("LoadTasks", "prompt_field", {}, {"tasks.prompt_field": "question"}),
    ("LoadTasks", "type_field", {}, {"tasks.type_field": "kind"}),
    ("LoadTasks", "reference_field", {}, {"tasks.reference_field": "answer"}),
    ("LoadTasks", "id_field", {}, {"tasks.id_field": "key"}),
    ("LoadTasks", "default_type", {}, {"tasks.default_type": "open"}),  # w1 has no task_type
    ("LoadTasks", "limit", {}, {"tasks.limit": 2}),
    strategy("direct_answer", "Reply with one word."),
    strategy("step_by_step", "Count on your fingers."),
    strategy("explain_then_answer", "Explain like a pirate, then answer."),
    strategy("recall_then_generate", "Recall a poem first."),
    strategy("recall_reason_generate", "Recall, reason, then rhyme."),
    ("Strategies", "extra", {"teacher.default_strategy": "mine"}, {"strategies.extra": {"mine": "Answer in Welsh."}}),
    ("LocalLLM", "temperature", {}, {"llm.temperature": 1.0}),
    ("LocalLLM", "top_p", {"llm.temperature": 1.0}, {"llm.top_p": 0.05}),  # top_p matters when sampling
    ("LocalLLM", "max_tokens", {}, {"llm.max_tokens": 3}),
    ("LocalLLM", "seed", {"llm.temperature": 1.0}, {"llm.seed": 7}),  # the seed matters when sampling
    ("LLMTeacher", "default_strategy", {}, {"teacher.default_strategy": "step_by_step"}),
    ("PromptEraser", "generic_system", {}, {"erase.generic_system": "You are terse."}),
    ("SaveDataset", "include_meta", {}, {"save.include_meta": True}),
    ("PreviewRecords", "count", {}, {"preview.count": 1}),
    ("PreviewRecords", "max_chars", {}, {"preview.max_chars": 20}),
]


@pytest.fixture(scope="module")
def references() -> dict:
    """Unchanged runs' content, made once per module and shared by the cases."""
    return {}


def reference(references, key, make):
    if key not in references:
        references[key] = make()
    return references[key]


def test_the_orca_chain_reproduces_exactly(folders, tmp_path):
    assert same(content(run(folders, orca_chain({}), tmp_path)), content(run(folders, orca_chain({}), tmp_path)))


@pytest.mark.parametrize("node_type, name, shared, change", ORCA_CHANGES,
                         ids=[f"{t}.{i}" for t, i, *_ in ORCA_CHANGES])
def test_each_orca_input_changes_the_records(folders, tmp_path, references, node_type, name, shared, change):
    base = reference(references, json.dumps(shared, sort_keys=True),
                     lambda: content(run(folders, orca_chain(shared), tmp_path)))
    assert not same(content(run(folders, orca_chain({**shared, **change}), tmp_path)), base), (node_type, name)


# ---- the endpoint's settings and the strategy search, on the loopback endpoint ------------

def endpoint_chain(endpoints, changes: dict) -> dict:
    """LoadTasks -> OpenAIChatLLM -> StrategySelector (search) and LLMTeacher (its mapping)."""
    nodes = {
        "tasks": {"type": "LoadTasks", "inputs": {"file": "tasks.jsonl"}},
        "strategies": {"type": "Strategies", "inputs": {}},
        "llm": {"type": "OpenAIChatLLM", "inputs": {"base_url": endpoints["A"].base_url, "model": "echo",
                                                    "api_key_env": "", "max_retries": 0, "timeout": 30.0}},
        "select": {"type": "StrategySelector", "inputs": {"tasks": link("tasks", "tasks"),
                                                           "strategies": link("strategies", "strategies"),
                                                           "llm": link("llm", "llm"), "mode": "search",
                                                           "candidates": "direct_answer, step_by_step",
                                                           "default_strategy": "step_by_step", "max_probes": 2}},
        "teacher": {"type": "LLMTeacher", "inputs": {"llm": link("llm", "llm"), "tasks": link("tasks", "tasks"),
                                                     "strategies": link("strategies", "strategies"),
                                                     "mapping": link("select", "mapping")}},
        "mapping": {"type": "TestCapture", "inputs": {"value": link("select", "mapping")}},
        "scores": {"type": "TestCapture", "inputs": {"value": link("select", "scores")}},
        "taught": {"type": "TestCapture", "inputs": {"value": link("teacher", "records")}},
    }
    return edited({"format": "nodegraph/workflow", "version": 1, "nodes": nodes}, changes)


ENDPOINT_CHANGES = [  # (node type, input, the change); "@B" is the second endpoint's URL
    ("OpenAIChatLLM", "base_url", {"llm.base_url": "@B"}),
    ("OpenAIChatLLM", "model", {"llm.model": "echo-2"}),
    ("OpenAIChatLLM", "api_key_env", {"llm.api_key_env": KEY_VARIABLE}),  # the key reaches the request
    ("OpenAIChatLLM", "temperature", {"llm.temperature": 0.7}),
    ("OpenAIChatLLM", "top_p", {"llm.top_p": 0.5}),
    ("OpenAIChatLLM", "max_tokens", {"llm.max_tokens": 99}),
    ("OpenAIChatLLM", "seed", {"llm.seed": 5}),
    ("StrategySelector", "mode", {"select.mode": "mapping"}),
    ("StrategySelector", "mapping", {"select.mapping": {"sums": "direct_answer"}}),  # ties go to the mapping
    ("StrategySelector", "default_strategy", {"select.default_strategy": "direct_answer"}),
    ("StrategySelector", "candidates", {"select.candidates": "direct_answer"}),
    ("StrategySelector", "scorer", {"select.scorer": "exact"}),  # "42 apples" is in the answer, not all of it
    ("StrategySelector", "max_probes", {"select.max_probes": 1}),
]


def endpoint_content(endpoints, folders, tmp_path, changes: dict) -> dict:
    changes = {k: endpoints["B"].base_url if v == "@B" else v for k, v in changes.items()}
    return content(run(folders, endpoint_chain(endpoints, changes), tmp_path))


def test_the_endpoint_chain_reproduces_exactly(endpoints, folders, tmp_path):
    assert same(endpoint_content(endpoints, folders, tmp_path, {}), endpoint_content(endpoints, folders, tmp_path, {}))


@pytest.mark.parametrize("node_type, name, change", ENDPOINT_CHANGES, ids=[f"{t}.{i}" for t, i, _ in ENDPOINT_CHANGES])
def test_each_endpoint_and_selector_input_changes_the_result(endpoints, folders, tmp_path, references, monkeypatch,
                                                             node_type, name, change):
    monkeypatch.setenv(KEY_VARIABLE, "sk-test-sensitivity")
    base = reference(references, "endpoint", lambda: endpoint_content(endpoints, folders, tmp_path, {}))
    assert not same(endpoint_content(endpoints, folders, tmp_path, change), base), (node_type, name)


# ---- needle in a haystack, on the loopback endpoint -----------------------------------------

def needle_chain(endpoints, changes: dict) -> dict:
    """Haystack -> InsertNeedle -> AskLLM -> ScoreRecall, a judged ScoreRecall of a literal answer,
    an AskLLM of a literal context, and NeedleGrid -> RecallHeatmap, SaveReport."""
    nodes = {
        "llm": {"type": "OpenAIChatLLM", "inputs": {"base_url": endpoints["A"].base_url, "model": "echo",
                                                    "api_key_env": "", "max_retries": 0, "timeout": 30.0}},
        "haystack": {"type": "Haystack", "inputs": {"source": "demo:needle-corpus", "tokens": 300}},
        "needle": {"type": "InsertNeedle", "inputs": {"haystack": link("haystack", "haystack"), "depth": 50.0}},
        "ask": {"type": "AskLLM", "inputs": {"llm": link("llm", "llm"), "context": link("needle", "context"),
                                             "max_tokens": 8}},
        "ask_literal": {"type": "AskLLM", "inputs": {"llm": link("llm", "llm"), "context": "Ilse bakes with cardamom."}},
        "score": {"type": "ScoreRecall", "inputs": {"answer": link("ask", "answer"), "method": "contains",
                                                    "expected": "cardamom"}},
        "judged": {"type": "ScoreRecall", "inputs": {"answer": "A spoonful of cardamom.", "method": "judge",
                                                     "judge": link("llm", "llm")}},
        "grid": {"type": "NeedleGrid", "inputs": {"llm": link("llm", "llm"), "haystack": link("haystack", "haystack"),
                                                  "lengths": [200, 300], "depths": [0, 100], "max_tokens": 8}},
        "heatmap": {"type": "RecallHeatmap", "inputs": {"results": link("grid", "results"), "filename_prefix": "grid"}},
        "report": {"type": "SaveReport", "inputs": {"results": link("grid", "results"), "filename_prefix": "report"}},
        "text": {"type": "TestCapture", "inputs": {"value": link("haystack", "text")}},
        "placed": {"type": "TestCapture", "inputs": {"value": link("needle", "context")}},
        "answer": {"type": "TestCapture", "inputs": {"value": link("ask", "answer")}},
        "answer_literal": {"type": "TestCapture", "inputs": {"value": link("ask_literal", "answer")}},
        "scored": {"type": "TestCapture", "inputs": {"value": link("score", "score")}},
        "judge_score": {"type": "TestCapture", "inputs": {"value": link("judged", "score")}},
        "cells": {"type": "TestCapture", "inputs": {"value": link("grid", "results")}},
    }
    return edited({"format": "nodegraph/workflow", "version": 1, "nodes": nodes}, changes)


ASKED = ("question", "system_prompt", "prompt_template", "max_tokens", "temperature")
ASK_VALUES = {"question": "Which spice does the cake hide?", "system_prompt": "Answer as a poet.",
              "prompt_template": "{question}\n<document>\n{context}\n</document>", "max_tokens": 12,
              "temperature": 0.4}
NEEDLE_CHANGES = [
    ("Haystack", "source", {"haystack.source": "corpus.txt"}),
    ("Haystack", "tokens", {"haystack.tokens": 250}),
    ("InsertNeedle", "needles", {"needle.needles": "The cake's secret is a pinch of saffron."}),
    ("InsertNeedle", "depth", {"needle.depth": 10.0}),
    *[("AskLLM", name, {f"ask.{name}": ASK_VALUES[name]}) for name in ASKED],
    ("AskLLM", "context", {"ask_literal.context": "Ilse bakes with cloves."}),
    ("ScoreRecall", "method", {"score.method": "exact"}),
    ("ScoreRecall", "expected", {"score.expected": "saffron"}),
    ("ScoreRecall", "answer", {"judged.answer": "A spoonful of pepper."}),  # the judge grades what it is shown
    ("ScoreRecall", "question", {"judged.question": "Which spice is in Ilse's bread?"}),  # and the question
    *[("NeedleGrid", name, {f"grid.{name}": ASK_VALUES[name]}) for name in ASKED],
    ("NeedleGrid", "method", {"grid.method": "exact"}),
    ("NeedleGrid", "expected", {"grid.expected": "saffron"}),
    ("NeedleGrid", "needles", {"grid.needles": "The cake's secret is a pinch of saffron."}),
    ("NeedleGrid", "lengths", {"grid.lengths": [200, 250]}),
    ("NeedleGrid", "depths", {"grid.depths": [0, 50]}),
    ("RecallHeatmap", "title", {"heatmap.title": "Recall of the echo model"}),
    ("SaveReport", "title", {"report.title": "Echo recall"}),
]


def needle_content(endpoints, folders, tmp_path, changes: dict) -> dict:
    return content(run(folders, needle_chain(endpoints, changes), tmp_path))


def test_the_needle_chain_reproduces_exactly(endpoints, folders, tmp_path):
    assert same(needle_content(endpoints, folders, tmp_path, {}), needle_content(endpoints, folders, tmp_path, {}))


@pytest.mark.parametrize("node_type, name, change", NEEDLE_CHANGES, ids=[f"{t}.{i}" for t, i, _ in NEEDLE_CHANGES])
def test_each_needle_input_changes_the_result(endpoints, folders, tmp_path, references, node_type, name, change):
    base = reference(references, "needle", lambda: needle_content(endpoints, folders, tmp_path, {}))
    assert not same(needle_content(endpoints, folders, tmp_path, change), base), (node_type, name)


def test_the_context_window_refuses_the_cells_that_do_not_fit(endpoints, folders, tmp_path, references):
    """A window the longest cells (300 tokens of haystack in a prompt of ~344, 8 to answer) do not
    fit is refused before any request, naming the cell; a window everything fits in changes nothing."""
    refused = run(folders, needle_chain(endpoints, {"llm.context_window": 330}), tmp_path, ok=False)
    assert not refused.ok and refused.error["node"] == "grid" and refused.error["input"] == "lengths"
    assert "length 300" in refused.error["message"] and "330-token context window" in refused.error["message"]
    base = reference(references, "needle", lambda: needle_content(endpoints, folders, tmp_path, {}))
    assert same(needle_content(endpoints, folders, tmp_path, {"llm.context_window": 100_000}), base)


# ---- names only, and inputs no content test applies to ------------------------------------

NAME_ONLY = [("SaveDataset", "filename", "orca", {"save.filename": "renamed.jsonl"}),
             ("RecallHeatmap", "filename_prefix", "needle", {"heatmap.filename_prefix": "renamed"}),
             ("SaveReport", "filename_prefix", "needle", {"report.filename_prefix": "renamed"})]


@pytest.mark.parametrize("node_type, name, chain, change", NAME_ONLY, ids=[f"{t}.{i}" for t, i, *_ in NAME_ONLY])
def test_file_names_change_names_only(endpoints, folders, tmp_path, node_type, name, chain, change):
    make = (lambda c: orca_chain(c)) if chain == "orca" else (lambda c: needle_chain(endpoints, c))  # noqa: E731
    first, renamed = run(folders, make({}), tmp_path), run(folders, make(change), tmp_path)
    names = lambda result: sorted(Path(p).name for p in result.outputs)  # noqa: E731
    assert names(first) != names(renamed) and any(n.startswith("renamed") for n in names(renamed))

    def by_kind(result) -> list:  # the contents, less the name the provenance sidecar repeats
        found = [file_content(p) for p in sorted(result.outputs, key=lambda p: Path(p).suffix)]
        return [{k: v for k, v in c.items() if k != "dataset"} if isinstance(c, dict) else c for c in found]
    assert same(by_kind(first), by_kind(renamed))


NO_CONTENT_TEST = {
    ("LocalLLM", "model"): "one local model is available offline (the demo); test_key_sensitivity keys the folder",
    ("OpenAIChatLLM", "concurrency"): "how many requests are in flight, not what they say (test_orca_http's "
                                      "test_concurrency_is_bounded, test_needle_grid's concurrency test)",
    ("OpenAIChatLLM", "timeout"): "when a request is given up (test_orca_http's retry tests)",
    ("OpenAIChatLLM", "max_retries"): "how often a failed request is retried (test_orca_http's "
                                      "test_gives_up_after_retries_and_says_why)",
    ("OpenAIChatLLM", "backoff"): "the wait between retries (test_orca_http's backoff test)",
    ("LLMTeacher", "on_error"): "differs only when a call fails: test_orca_teacher's test_skip_mode_lists_failures",
    ("NeedleGrid", "on_error"): "differs only when a cell fails: test_needle_grid's skip test",
}


def test_every_literal_of_the_llm_pack_is_covered():
    from nodegraph.api.plugins import load_registry
    covered = [(t, i) for t, i, *_ in ORCA_CHANGES + ENDPOINT_CHANGES + NEEDLE_CHANGES + NAME_ONLY]
    covered.append(("OpenAIChatLLM", "context_window"))  # test_the_context_window_refuses_the_cells_that_do_not_fit
    assert uncovered(load_registry(()), "builtin.llm", covered, NO_CONTENT_TEST) == set()
