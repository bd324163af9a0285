"""The OpenAI-compatible backend against a real loopback server: retries, timeouts, errors, keys."""
from __future__ import annotations

import json
import time

import pytest

from nodegraph_nodes.llm.backends import LLMCallError, LLMService, LLMSpec, parse_retry_after, sampling_params
from nodegraph_nodes.llm.cache import LLMCache

from orca_helpers import pipeline


def spec(base_url: str, **kw) -> LLMSpec:
    args = dict(kind="openai", model="m", identity=base_url, base_url=base_url, timeout=0.5, max_retries=3,
                backoff=0.01, concurrency=2, params=sampling_params(0.0, 1.0, 64, None))
    args.update(kw)
    return LLMSpec(**args)


def ask(fake, prompt: str, **kw) -> dict:
    service = LLMService()
    try:
        return service.complete(spec(fake.base_url, **kw), [{"role": "user", "content": prompt}], LLMCache(None))
    finally:
        service.close()


def test_retries_429_500_timeout_and_malformed_then_answers(fake_llm):
    fake_llm.script("flaky", "429:0", "500", "hang", "malformed")
    answer = ask(fake_llm, "flaky question", max_retries=4)
    assert answer["content"] == "ANSWER<flaky question>"
    assert answer["attempts"] == 5 and fake_llm.count("flaky") == 5  # (a stuck loop: pytest-timeout)


def test_backoff_is_exponential_with_jitter_and_capped(fake_llm, monkeypatch):
    """On a fake clock: the delays before each retry double from `backoff`, each drawn with
    jitter from [half, full] of the nominal delay, and never exceed the cap."""
    from nodegraph_nodes.llm import backends
    waits: list[float] = []
    monkeypatch.setattr(backends, "_wait", lambda seconds, should_stop: waits.append(seconds))
    draws: list[tuple[float, float]] = []

    def uniform(a, b):
        draws.append((a, b))
        return b if len(draws) % 2 else a  # alternate the two ends of the jitter range
    monkeypatch.setattr(backends.random, "uniform", uniform)
    fake_llm.script("always failing", *["500"] * 9)
    with pytest.raises(LLMCallError, match="gave up after 9 attempts"):
        ask(fake_llm, "always failing", max_retries=8, backoff=4.0)
    cap = backends.BACKOFF_CAP_S
    nominal = [min(cap, 4.0 * 2 ** i) for i in range(8)]
    assert nominal[-1] == cap < 4.0 * 2 ** 7  # the cap is reached within this run
    assert draws == [(0.5, 1.0)] * 8  # jitter on every retry
    assert waits == [n * (1.0 if i % 2 == 0 else 0.5) for i, n in enumerate(nominal)]


def test_retry_after_is_honoured(fake_llm):
    fake_llm.script("slow down", "429:1")
    started = time.monotonic()
    assert ask(fake_llm, "slow down")["content"] == "ANSWER<slow down>"
    assert time.monotonic() - started >= 0.95  # waited what the server asked, not the 10 ms backoff


def test_gives_up_after_retries_and_says_why(fake_llm):
    fake_llm.script("broken", *["500"] * 10)
    with pytest.raises(LLMCallError, match=r"gave up after 3 attempts; last: HTTP 500"):
        ask(fake_llm, "broken", max_retries=2)
    assert fake_llm.count("broken") == 3
    fake_llm.script("garbled", *["malformed"] * 10)
    with pytest.raises(LLMCallError, match="malformed response"):
        ask(fake_llm, "garbled", max_retries=1)


def test_client_errors_are_not_retried(fake_llm):
    fake_llm.script("too long", "400")
    with pytest.raises(LLMCallError, match="HTTP 400.*context too long"):
        ask(fake_llm, "too long")
    assert fake_llm.count("too long") == 1


def test_concurrency_is_bounded(fake_llm):
    """Exactly `concurrency` requests in flight: pairs meet at a two-party barrier in the server
    (which breaks, failing the test, if only one request at a time were let through), and a
    third request never arrives while two are inside."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    in_flight, peak = [0], [0]
    original = fake_llm.answer
    pair = threading.Barrier(2, timeout=120)  # a partner late on a loaded machine is still met

    def slow(system, user):
        with fake_llm.lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        pair.wait()
        with fake_llm.lock:
            in_flight[0] -= 1
        return original(system, user)

    fake_llm.answer = slow
    service = LLMService()
    s = spec(fake_llm.base_url, concurrency=2, timeout=150)  # above the barrier's wait: no retries
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: service.complete(s, [{"role": "user", "content": f"q{i}"}], LLMCache(None)), range(8)))
    service.close()
    assert peak[0] == 2 and not pair.broken


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("junk") is None
    assert parse_retry_after("100000") == 120.0  # capped
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past


def test_api_key_comes_from_the_named_variable_and_is_never_stored(fake_llm, runner, tasks_file, monkeypatch):
    secret = "sk-test-DO-NOT-LEAK-123"
    fake_llm.api_key = secret
    monkeypatch.setenv("ORCA_TEST_KEY", secret)
    workflow = pipeline(fake_llm.base_url, tasks_file, llm={"api_key_env": "ORCA_TEST_KEY"})
    result, sink = runner.run(workflow)
    assert result.ok, result.error
    assert fake_llm.headers[0]["Authorization"] == f"Bearer {secret}"
    stored = [p.read_text() for p in runner.root.rglob("*") if p.is_file()]
    assert stored and not any(secret in text for text in stored)
    assert secret not in json.dumps(sink.events, default=str)
    assert secret not in json.dumps(workflow)


def test_missing_key_variable_is_refused_by_validation_naming_it(fake_llm, runner, tasks_file, monkeypatch):
    from nodegraph.api.errors import WorkflowInvalid
    monkeypatch.delenv("ORCA_MISSING_KEY", raising=False)
    with pytest.raises(WorkflowInvalid) as info:
        runner.run(pipeline(fake_llm.base_url, tasks_file, llm={"api_key_env": "ORCA_MISSING_KEY"}))
    (problem,) = info.value.problems
    assert (problem.node, problem.input) == ("llm", "api_key_env")
    assert "ORCA_MISSING_KEY is not set" in problem.message
    assert fake_llm.count() == 0
    monkeypatch.setenv("ORCA_MISSING_KEY", "sk-now-set")  # set: it runs
    result, _ = runner.run(pipeline(fake_llm.base_url, tasks_file, llm={"api_key_env": "ORCA_MISSING_KEY"}))
    assert result.ok, result.error


def test_a_pasted_key_is_refused_by_validation(fake_llm, runner, tasks_file):
    from nodegraph.api.errors import WorkflowInvalid
    with pytest.raises(WorkflowInvalid, match="never the key itself"):
        runner.run(pipeline(fake_llm.base_url, tasks_file, llm={"api_key_env": "sk-abc-123"}))
