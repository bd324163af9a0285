"""LLMTeacher: progress, error reporting, and that nothing finished is lost (interrupt, failure, kill)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from orca_helpers import REPO, pipeline

PROMPTS = [f"question number {i}?" for i in range(6)]


def test_every_task_answered_once_with_progress_and_rerun_is_free(fake_llm, runner, tasks_file):
    workflow = pipeline(fake_llm.base_url, tasks_file, llm={"concurrency": 3})
    result, sink = runner.run(workflow)
    assert result.ok, result.error
    assert sorted(fake_llm.users()) == sorted(PROMPTS)  # each task asked exactly once
    progress = [e for e in sink.of("progress") if e["node"] == "teacher"]
    assert [e["value"] for e in progress] == list(range(7)) and {e["max"] for e in progress} == {6}

    lines = (runner.out / "ds.jsonl").read_text().splitlines()
    users = [json.loads(line)["messages"][1]["content"] for line in lines]
    assert users == PROMPTS  # input order, whatever order the answers came back in

    fake_llm.reset()
    result, _ = runner.run(workflow)  # a new session: the node cache is cold, the LLM cache is not
    assert result.ok and fake_llm.count() == 0


@pytest.mark.parametrize("failure, shown", [("500", "HTTP 500"), ("malformed", "malformed response"),
                                             ("hang", "no answer within the 0.3 s timeout")])
def test_failed_record_is_named_and_finished_answers_are_kept(fake_llm, runner, tasks_file, failure, shown):
    fake_llm.script("number 2", *[failure] * 3)  # max_retries 2: three attempts, all fail
    workflow = pipeline(fake_llm.base_url, tasks_file, llm={"timeout": 0.3})
    result, sink = runner.run(workflow)
    assert result.status == "failed"
    error = sink.of("error")[0]
    assert error["node"] == "teacher"
    assert "record 3 of 6" in error["message"] and "'t2'" in error["message"]
    assert "question number 2" in error["message"] and shown in error["message"]
    assert fake_llm.count("number 2") == 3  # retried
    assert fake_llm.answered == PROMPTS[:2]  # concurrency 1: the rest were never sent

    fake_llm.reset()  # the server recovers; the rerun asks only for what was not answered
    result, _ = runner.run(workflow)
    assert result.ok, result.error
    assert fake_llm.users() == PROMPTS[2:]


def test_skip_mode_lists_failures(fake_llm, runner, tasks_file):
    fake_llm.script("number 4", "400")
    workflow = pipeline(fake_llm.base_url, tasks_file, teacher={"on_error": "skip"})
    workflow["nodes"]["show"] = {"type": "PreviewRecords",
                                 "inputs": {"records": {"from": "teacher", "output": "failures"}}}
    result, _ = runner.run(workflow)
    assert result.ok, result.error
    failures = result.ui["show"]["records"]
    assert [(f["id"], f["index"]) for f in failures] == [("t4", 4)] and "HTTP 400" in failures[0]["error"]
    assert len((runner.out / "ds.jsonl").read_text().splitlines()) == 5


def test_interrupt_keeps_finished_records(fake_llm, runner, tasks_file):
    workflow = pipeline(fake_llm.base_url, tasks_file)
    result, sink = runner.run(workflow, interrupt_after=2)
    assert result.status == "interrupted"
    assert fake_llm.answered == PROMPTS[:2]
    fake_llm.reset()
    result, _ = runner.run(workflow)
    assert result.ok
    assert fake_llm.users() == PROMPTS[2:]  # only what the interrupted run had not finished


def test_killed_run_resumes_with_only_unanswered_requests(fake_llm, tmp_path, tasks_file):
    """SIGKILL the CLI mid-run; the restarted run sends the server only the missing requests."""
    workflow = pipeline(fake_llm.base_url, tasks_file)
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow))
    cmd = [sys.executable, "-m", "nodegraph.cli", "run", str(path), "--cache-dir", str(tmp_path / "cache"),
           "--out", str(tmp_path / "out"), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "NODEGRAPH_DEMO_DIR": str(tmp_path / "demo")}

    fake_llm.hang_after = 3  # answer three, then the fourth request hangs until the kill
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180  # a hang guard: the process starts slowly on a loaded machine
    while fake_llm.count() < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert fake_llm.count() == 4, proc.stderr.read() if proc.poll() is not None else "timeout"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    first_answered = list(fake_llm.answered)
    assert first_answered == PROMPTS[:3]

    fake_llm.reset()
    fake_llm.release.set()
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    second = fake_llm.users()
    assert len(second) == 3 and second == PROMPTS[3:]  # 6 tasks - 3 answered before the kill
    assert not set(second) & set(first_answered)
    assert len((tmp_path / "out" / "ds.jsonl").read_text().splitlines()) == 6
