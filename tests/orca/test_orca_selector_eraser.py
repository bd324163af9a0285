"""StrategySelector picks the best scorer; PromptEraser removes every trace of the strategy."""
from __future__ import annotations

import json

import pytest

from nodegraph_nodes.llm.orca import score_answer
from nodegraph_nodes.llm.orca_strategies import DEFAULT_STRATEGIES, EXPLAIN_THEN_ANSWER, GENERIC_SYSTEM, STEP_BY_STEP

from orca_helpers import pipeline


def answers_right_only_when_explaining(system: str, user: str) -> str:
    """The 'model' gets a task right only under the explain-then-answer instruction."""
    number = user.split("number ")[1].rstrip("?")
    if system == EXPLAIN_THEN_ANSWER:
        return f"The deciding rule is X.\nAnswer: ref{number}"
    return f"I think it is wrong{number}"


def test_search_picks_the_strategy_that_scores_best(fake_llm, runner, tasks_file):
    fake_llm.answer = answers_right_only_when_explaining
    workflow = pipeline(fake_llm.base_url, tasks_file, llm={"concurrency": 4},
                        select={"mode": "search", "max_probes": 2, "scorer": "exact"})
    workflow["nodes"]["scores"] = {"type": "PreviewRecords",
                                   "inputs": {"records": {"from": "select", "output": "scores"}, "count": 100}}
    result, _ = runner.run(workflow)
    assert result.ok, result.error

    table = result.ui["scores"]["records"]
    assert {(r["task_type"], r["strategy"]) for r in table} == {(t, s) for t in ("math", "trivia")
                                                                for s in DEFAULT_STRATEGIES}
    for row in table:
        assert row["tried"] == 2
        assert row["score"] == (1.0 if row["strategy"] == "explain_then_answer" else 0.0)
        assert row["chosen"] == (row["strategy"] == "explain_then_answer")
    # 2 types x 5 strategies x 2 probes, then the teacher: its 4 probed tasks are cache hits.
    assert fake_llm.count() == 20 + 2

    records = [json.loads(line) for line in (runner.out / "ds.jsonl").read_text().splitlines()]
    assert all(r["messages"][2]["content"].endswith(f"Answer: ref{i}") for i, r in enumerate(records))


def test_ties_fall_back_to_the_mapping_then_the_default(fake_llm, runner, tasks_file):
    fake_llm.answer = lambda system, user: "no idea"  # every strategy scores 0
    workflow = pipeline(fake_llm.base_url, tasks_file, select={
        "mode": "search", "max_probes": 1, "mapping": {"trivia": "recall_then_generate"},
        "default_strategy": "direct_answer", "candidates": "direct_answer, step_by_step, recall_then_generate"})
    workflow["nodes"]["teacher"]["inputs"]["on_error"] = "fail"
    workflow["nodes"]["show"] = {"type": "PreviewRecords", "inputs": {"records": {"from": "teacher", "output": "records"},
                                                                      "count": 6}}
    result, _ = runner.run(workflow)
    assert result.ok, result.error
    chosen = {r["meta"]["task_type"]: r["meta"]["strategy"] for r in result.ui["show"]["records"]}
    assert chosen == {"math": "direct_answer", "trivia": "recall_then_generate"}


def test_mapping_mode_needs_no_llm_calls_and_unknown_names_are_errors(fake_llm, runner, tasks_file):
    workflow = pipeline(fake_llm.base_url, tasks_file, select={"mapping": {"math": "nonsense"}})
    result, _ = runner.run(workflow)
    assert result.status == "failed" and result.error["node"] == "select" and result.error["input"] == "mapping"
    assert "nonsense" in result.error["message"] and fake_llm.count() == 0


@pytest.mark.parametrize("scorer, answer, reference, expected", [
    ("exact", "Let me think.\nAnswer: Mercury.", "mercury", 1.0),
    ("exact", "Mercury is near Venus", "Mercury", 0.0),
    ("contains", "It is (B) because ice melts", "B", 1.0),
    ("contains", "Bees are small", "B", 0.0),
    ("numeric", "84 - 25 = 59\nAnswer: 59 pencils", "59", 1.0),
    ("numeric", "Answer: 1,550", "1550", 1.0),
    ("numeric", "Answer: 58", "59", 0.0),
])
def test_scorers(scorer, answer, reference, expected):
    assert score_answer(scorer, answer, reference) == expected


def strategy_fragments() -> list[str]:
    """Every sentence-sized piece of every strategy text."""
    pieces = []
    for text in DEFAULT_STRATEGIES.values():
        pieces += [p.strip() for p in text.replace("\n", " ").split(".") if len(p.strip()) > 15]
    return pieces


def test_erased_records_keep_prompt_and_answer_but_no_strategy_text(fake_llm, runner, tasks_file):
    result, _ = runner.run(pipeline(fake_llm.base_url, tasks_file))
    assert result.ok, result.error
    text = (runner.out / "ds.jsonl").read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == 6
    for i, record in enumerate(records):
        assert list(record) == ["messages"]  # what fine-tuning tools accept
        assert record["messages"] == [
            {"role": "system", "content": GENERIC_SYSTEM},
            {"role": "user", "content": f"question number {i}?"},
            {"role": "assistant", "content": f"ANSWER<question number {i}?>"},
        ]
    assert not [p for p in strategy_fragments() if p in text]
    # ...while the teacher really was told the strategy (step_by_step is the default).
    assert all(body["messages"][0]["content"] == STEP_BY_STEP for body in fake_llm.requests)

    sidecar = json.loads((runner.out / "ds.provenance.json").read_text())
    import hashlib
    assert sidecar["records"] == 6 and sidecar["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert sidecar["strategies"] == {"step_by_step": 6} and sidecar["task_types"] == {"math": 3, "trivia": 3}
    assert sidecar["workflow"]["nodes"]["erase"]["type"] == "PromptEraser"
    assert sidecar["provenance"]["nodes"]["teacher"]["type"] == "LLMTeacher"


def test_custom_or_empty_generic_message(fake_llm, runner, tasks_file):
    result, _ = runner.run(pipeline(fake_llm.base_url, tasks_file, erase={"generic_system": "Be helpful."}))
    first = json.loads((runner.out / "ds.jsonl").read_text().splitlines()[0])
    assert first["messages"][0] == {"role": "system", "content": "Be helpful."}
    result, _ = runner.run(pipeline(fake_llm.base_url, tasks_file, erase={"generic_system": ""}))
    first = json.loads((runner.out / "ds.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
