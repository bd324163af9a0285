"""Haystack sizing, needle placement, scoring and input checks."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from nodegraph_nodes.llm.needle import DEMO_CORPUS_FILE
from nodegraph_nodes.llm.needle_score import parse_grade, score_text
from nodegraph_nodes.llm.needle_text import (ApproxCounter, filler, insert_needles, needle_depths, read_corpus,
                                             sized_context)

from needle_helpers import NEEDLE, grid_workflow, link

COUNTER = ApproxCounter()
DOCS = read_corpus([DEMO_CORPUS_FILE])


def test_demo_corpus_is_small_public_domain_prose():
    assert DEMO_CORPUS_FILE.stat().st_size < 300_000
    note = (DEMO_CORPUS_FILE.parent / "needle_corpus.md").read_text()
    assert "public domain" in note.lower() and "CC0" in note
    assert "cardamom" not in DEMO_CORPUS_FILE.read_text().lower()


@pytest.mark.parametrize("tokens", [50, 1000, 20_000])
def test_filler_has_the_requested_size_and_repeats_the_corpus(tokens):
    text = filler(DOCS, tokens, COUNTER)
    assert 0.9 * tokens <= COUNTER.count(text) <= tokens
    if tokens > COUNTER.count("\n\n".join(DOCS)):
        assert text.count("On Keeping a Notebook") >= 2


def test_needles_land_on_sentence_boundaries_in_depth_order():
    haystack = filler(DOCS, 4000, COUNTER)
    offsets = []
    for depth in (0, 10, 25, 50, 75, 90, 100):
        placed = insert_needles(haystack, [NEEDLE], depth, COUNTER)
        at = placed.offsets[0]
        assert placed.context[at:at + len(NEEDLE)] == NEEDLE
        before = placed.context[:at]
        assert at == 0 or re.search(r"[.!?][\"')\]]?\s+$", before), (depth, before[-40:])
        assert placed.context.replace(NEEDLE, "").split() == haystack.split()
        # within one sentence (< 100 tokens here) before the nominal depth
        nominal = placed.tokens * depth / 100
        assert nominal - 100 <= placed.token_offsets[0] <= nominal + 25, depth
        offsets.append(at)
    assert offsets == sorted(offsets) and offsets[0] == 0
    assert placed.context.endswith(NEEDLE)


def test_several_needles_spread_from_the_depth_to_the_end():
    assert needle_depths(40, 3) == [40, 60, 80]
    needles = ["The first clue is amber.", "The second clue is birch.", "The third clue is copper."]
    placed = sized_context(DOCS, 3000, needles, 40, COUNTER)
    assert [placed.context.index(n) for n in needles] == sorted(placed.offsets)
    fractions = [o / placed.tokens for o in placed.token_offsets]
    for got, want in zip(fractions, (0.4, 0.6, 0.8)):
        assert want - 0.05 <= got <= want + 0.01


def test_scorers():
    assert score_text("contains", "It is ground Cardamom!", "cardamom") == 1.0
    assert score_text("contains", "It is cardamoms", "cardamom") == 0.0
    assert score_text("contains", "amber and copper", "amber\nbirch\ncopper") == pytest.approx(2 / 3)
    assert score_text("exact", "Cardamom.", "cardamom") == 1.0
    assert score_text("exact", "It is cardamom", "cardamom") == 0.0
    assert score_text("regex", "the code is 4521", r"\b45\d\d\b") == 1.0
    assert score_text("regex", "the code is 4621", r"\b45\d\d\b") == 0.0
    assert parse_grade("Grade: 7/10") == 7 and parse_grade("10") == 10 and parse_grade("none") is None
    assert parse_grade("3.5") is None


def problems(runner, workflow) -> list:
    from nodegraph.api.errors import WorkflowInvalid
    try:
        result, _ = runner.run(workflow)
    except WorkflowInvalid as exc:
        return [(p.node, p.input, p.message) for p in exc.problems]
    assert result.status == "failed", "the workflow should not run"
    return [(result.error.get("node"), result.error.get("input"), result.error["message"])]


@pytest.mark.parametrize("inputs, where, words", [
    ({"depths": [0, 150]}, "depths", "0 to 100"),
    ({"lengths": [1000, 1000]}, "lengths", "distinct positive"),
    ({"prompt_template": "{question}"}, "prompt_template", "no {context}"),
    ({"method": "regex", "expected": "(unclosed"}, "expected", "not a regular expression"),
    ({"expected": "  \n "}, "expected", "no expected answer"),
    ({"method": "judge"}, "judge", "link the judge input"),
])
def test_bad_grid_inputs_are_named(runner, inputs, where, words):
    found = problems(runner, grid_workflow("http://127.0.0.1:9/v1", [1000], [0], grid=inputs))
    assert any(node == "grid" and name == where and words in message for node, name, message in found), found


def test_unknown_demo_corpus_is_named(runner):
    workflow = grid_workflow("http://127.0.0.1:9/v1", [1000], [0])
    workflow["nodes"]["haystack"]["inputs"]["source"] = "demo:nope"
    found = problems(runner, workflow)
    assert any(node == "haystack" and name == "source" and "demo:needle-corpus" in message
               for node, name, message in found), found


def test_one_cell_by_hand_from_a_folder_of_user_texts(runner, pattern_server, tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha sentence one. Alpha sentence two. " * 40)
    (folder / "b.md").write_text("Beta sentence one. " * 40)
    (folder / "skip.csv").write_text("not, text")

    def one_cell(depth: float) -> dict:
        workflow = {"format": "nodegraph/workflow", "version": 1, "nodes": {
            "llm": {"type": "OpenAIChatLLM", "inputs": {"base_url": pattern_server.base_url, "api_key_env": ""}},
            "haystack": {"type": "Haystack", "inputs": {"source": "texts", "tokens": 3000}},
            "needle": {"type": "InsertNeedle", "inputs": {"haystack": link("haystack", "haystack"), "depth": depth}},
            "ask": {"type": "AskLLM", "inputs": {"llm": link("llm", "llm"), "context": link("needle", "context")}},
            "score": {"type": "ScoreRecall", "inputs": {"answer": link("ask", "answer"), "expected": "cardamom"}},
        }}
        result, _ = runner.run(workflow)
        assert result.ok, result.error
        return result

    # The pattern model sees only the last 1700 of about 3000 tokens: the needle near the end is
    # found, the one near the start is not.
    assert one_cell(90.0).values["score"]["score"] == 1.0
    assert one_cell(10.0).values["score"]["score"] == 0.0
    assert pattern_server.requests == 2
