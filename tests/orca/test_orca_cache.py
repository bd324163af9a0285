"""The LLM response cache: keyed by what changes the answer, atomic, corrupt entries rebuilt."""
from __future__ import annotations

from nodegraph_nodes.llm.cache import LLMCache, call_key

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]


def test_key_depends_on_what_changes_the_answer():
    base = call_key("openai", "http://x/v1", "m", MESSAGES, {"temperature": 0.0})
    assert base == call_key("openai", "http://x/v1", "m", [dict(m) for m in MESSAGES], {"temperature": 0.0})
    assert base != call_key("openai", "http://y/v1", "m", MESSAGES, {"temperature": 0.0})
    assert base != call_key("openai", "http://x/v1", "m2", MESSAGES, {"temperature": 0.0})
    assert base != call_key("openai", "http://x/v1", "m", MESSAGES[1:], {"temperature": 0.0})
    assert base != call_key("openai", "http://x/v1", "m", MESSAGES, {"temperature": 0.0, "seed": 1})


def test_corrupt_entries_are_misses_and_get_rewritten(tmp_path):
    cache = LLMCache(tmp_path)
    key = call_key("openai", "u", "m", MESSAGES, {})
    cache.put(key, {"content": "hello"})
    assert LLMCache(tmp_path).get(key)["content"] == "hello"  # survives the process
    path = next(tmp_path.rglob(f"{key}.json"))
    path.write_text('{"content": "hel')  # torn write from some other tool
    assert LLMCache(tmp_path).get(key) is None
    cache.put(key, {"content": "again"})
    assert LLMCache(tmp_path).get(key)["content"] == "again"
    assert not list(tmp_path.rglob("*.tmp"))


def test_no_cache_dir_means_memory_only(tmp_path, monkeypatch):
    # Wherever a default could leak to (cwd, home, XDG cache) is this empty folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = LLMCache(None)
    cache.put("k", {"content": "v"})
    assert cache.get("k")["content"] == "v"
    assert not list(tmp_path.rglob("*"))  # nothing written anywhere
    assert LLMCache(None).get("k") is None  # and nothing outlives the instance
    on_disk = LLMCache(tmp_path / "llm")
    on_disk.put("k", {"content": "v"})
    assert list((tmp_path / "llm").rglob("*.json")) and LLMCache(tmp_path / "llm").get("k")["content"] == "v"


def test_no_cache_run_still_asks_each_question_once(fake_llm, runner, tasks_file):
    from orca_helpers import pipeline
    runner.cache_dir = None  # like --no-cache
    workflow = pipeline(fake_llm.base_url, tasks_file, select={"mode": "search", "max_probes": 1,
                                                               "candidates": "step_by_step"})
    result, _ = runner.run(workflow)
    assert result.ok, result.error
    assert sorted(fake_llm.users()) == sorted(f"question number {i}?" for i in range(6))  # probes reused
