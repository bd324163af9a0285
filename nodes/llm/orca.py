"""Orca 2 synthetic data (arXiv 2311.11045): explanation tuning with cautious reasoning.

A teacher LLM answers each task under the detailed system instruction of the strategy chosen
for its task type; prompt erasing then replaces that instruction with a generic one, so a
student trained on the (system, user, assistant) records must learn the strategy itself.

    LoadTasks ─┬─────────────────────────┐
    Strategies ┼─> StrategySelector ─> LLMTeacher ─> PromptEraser ─> SaveDataset / PreviewRecords
    LocalLLM | OpenAIChatLLM ──────────┘

Every LLM call is cached on disk (``cache.py``) as soon as it is answered, so a
rerun after a crash, interrupt or edit only pays for what changed. This module imports no
torch, transformers or httpx at import time.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable, Literal

from nodegraph import DemoAsset, FileInput, FileKind, Interrupted, Node, NodeError, Socket, SocketType, Widget, node
from nodegraph.files.roots import atomic_write

from .backends import (DEMO_LLM_NAME, LLMCallError, LLMService, LLMSpec, demo_llm_folder, materialise_demo_llm,
                       sampling_params)
from .orca_strategies import (DIRECT_ANSWER, EXPLAIN_THEN_ANSWER, GENERIC_SYSTEM, RECALL_REASON_GENERATE,
                              RECALL_THEN_GENERATE, STEP_BY_STEP)

SOCKET_TYPES = [
    SocketType("RECORDS", description="list of JSON-able dicts (tasks, chat records, rows)", color="#e6b8af",
               check=lambda v: isinstance(v, list) and all(isinstance(r, dict) for r in v)),
    SocketType("LLM", description="an LLM backend handle (endpoint or local model); never holds a key",
               color="#8e7cc3", persist=False, check=lambda v: hasattr(v, "kind") and hasattr(v, "identity")),
    SocketType("STRATEGIES", description="strategy name -> detailed system instruction", color="#c9a0dc",
               check=lambda v: isinstance(v, dict) and all(isinstance(t, str) for t in v.values())),
    SocketType("STRATEGY_MAP", description="task type -> strategy name", color="#a4c2f4",
               check=lambda v: isinstance(v, dict) and all(isinstance(t, str) for t in v.values())),
]

TASK_EXTENSIONS = (".jsonl", ".json", ".csv")
DEMO_TASKS = "demo:orca-tasks"  # a small task file shipped with the pack, for the demo workflow
DEMO_TASKS_FILE = Path(__file__).parent / "demo" / "orca_demo_tasks.jsonl"

FILE_KINDS = [FileKind("llm", "models", "local transformers causal-LM folders (models/llm/)"),
              FileKind("tasks", "input", "task files (JSONL, JSON or CSV) in the input folder")]
DEMOS = [
    DemoAsset(DEMO_LLM_NAME, "llm", build=materialise_demo_llm, locate=demo_llm_folder, version="v1",
              description="a tiny random-init Llama (gibberish answers; every node downstream runs for real)"),
    # Shipped, not built: its version is its content, so editing the file re-runs LoadTasks.
    DemoAsset("orca-tasks", "tasks", build=lambda _dir: DEMO_TASKS_FILE, locate=lambda _dir: DEMO_TASKS_FILE,
              version=hashlib.blake2b(DEMO_TASKS_FILE.read_bytes(), digest_size=8).hexdigest(),
              description="eight mixed tasks for the Orca-2 demo workflow"),
]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def llm_service(ctx) -> LLMService:
    return ctx.service("llm", LLMService)


def _llm_cache(ctx):
    folder = ctx.env.cache_dir / "llm" if ctx.env.cache_dir is not None else None
    return llm_service(ctx).cache(folder)


def excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- backends ---------------------------------------------------------------------------------

@node("OpenAIChatLLM", category="llm/backends", outputs={"llm": "LLM"})
class OpenAIChatLLM(Node):
    """An OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp, Ollama, ...).

    The API key is read from the environment variable named in ``api_key_env`` (leave empty
    for servers without auth); the workflow never holds the key. Answers are cached by
    (endpoint, model, messages, sampling parameters): with temperature > 0, change ``seed``
    to draw fresh samples.
    """
    base_url: str = Widget("https://api.openai.com/v1", description="ends before /chat/completions")
    model: str = Widget("gpt-4o-mini")
    api_key_env: str = Widget("OPENAI_API_KEY", description="name of the environment variable holding the key")
    temperature: float = Widget(0.0, ge=0.0, le=2.0, step=0.05)
    top_p: float = Widget(1.0, ge=0.0, le=1.0, step=0.05)
    max_tokens: int = Widget(1024, ge=1, le=1_000_000)
    seed: int = Widget(-1, ge=-1, description="sent to the endpoint when >= 0; part of the cache key")
    concurrency: int = Widget(4, ge=1, le=256, description="requests in flight at most")
    timeout: float = Widget(60.0, ge=0.05, le=3600.0, description="seconds per request")
    max_retries: int = Widget(4, ge=0, le=50, description="on 429, 5xx, timeouts and malformed replies")
    backoff: float = Widget(1.0, ge=0.0, le=60.0, description="first retry delay (s), doubled each time; "
                                                               "Retry-After wins when sent")
    context_window: int = Widget(0, ge=0, le=100_000_000, description="tokens the model accepts (prompt + answer), "
                                                                      "checked by recall nodes; 0 = unknown")

    @classmethod
    def check_inputs(cls, literals, env):
        problems = []
        url = literals.get("base_url")  # absent when linked
        if url is not None and not url.strip():
            problems.append(("base_url", "no endpoint: give the server's URL, ending before /chat/completions "
                                         "(e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1)"))
        elif url is not None and not url.startswith(("http://", "https://")):
            problems.append(("base_url", f"{url!r} is not an http(s) URL"))
        name = literals.get("api_key_env")
        if name and not _ENV_NAME.match(name):
            problems.append(("api_key_env", "give the *name* of an environment variable (e.g. OPENAI_API_KEY), "
                                            "never the key itself"))
        elif name and not os.environ.get(name):
            # Known before anything runs: refused here rather than failing the node mid-run.
            problems.append(("api_key_env", f"environment variable {name} is not set: export it with your API "
                                            f"key, or set api_key_env to \"\" for a server without auth"))
        return problems

    def run(self, ctx):
        if self.api_key_env and not os.environ.get(self.api_key_env):
            raise NodeError(f"environment variable {self.api_key_env} is not set; export it with your API key "
                            f"(or clear api_key_env for a server without auth)", input="api_key_env")
        spec = LLMSpec(kind="openai", model=self.model, identity=self.base_url.rstrip("/"),
                       base_url=self.base_url, api_key_env=self.api_key_env, concurrency=self.concurrency,
                       timeout=self.timeout, max_retries=self.max_retries, backoff=self.backoff,
                       context_window=self.context_window,
                       params=sampling_params(self.temperature, self.top_p, self.max_tokens,
                                              self.seed if self.seed >= 0 else None))
        return {"llm": spec}


@node("LocalLLM", category="llm/backends", outputs={"llm": "LLM"})
class LocalLLM(Node):
    """A local transformers causal LM folder (safetensors), chat template applied.

    ``demo:orca-tiny-llama`` is a tiny random-init Llama built on first use: its answers are
    gibberish, but every node downstream runs for real. Cached by a content fingerprint of
    the folder plus the sampling parameters.
    """
    model: str = FileInput("llm", default="demo:" + DEMO_LLM_NAME, directory=True,
                           description="model folder, or demo:orca-tiny-llama")
    temperature: float = Widget(0.0, ge=0.0, le=2.0, step=0.05, description="0 = greedy")
    top_p: float = Widget(1.0, ge=0.0, le=1.0, step=0.05)
    max_tokens: int = Widget(256, ge=1, le=32768)
    seed: int = Widget(0, ge=0)

    def run(self, ctx):
        if ctx.env.demo(self.model) is not None:  # validation checked it names an llm demo
            folder = ctx.env.materialise(self.model)
        else:
            folder = ctx.env.files.resolve("llm", self.model)
            if folder is None or not folder.is_dir():
                raise NodeError(f"model folder {self.model!r} not found", input="model")
        spec = LLMSpec(kind="transformers", model=str(Path(folder).resolve()),
                       identity=llm_service(ctx).fingerprint(Path(folder)), concurrency=1, device=ctx.env.device,
                       params=sampling_params(self.temperature, self.top_p, self.max_tokens, self.seed))
        return {"llm": spec}


# --- tasks and strategies ---------------------------------------------------------------------

_ALIASES = {"prompt": ("prompt", "question", "instruction", "input"),
            "task_type": ("task_type", "type", "category"),
            "reference": ("reference", "answer", "reference_answer", "target"),
            "id": ("id", "task_id")}


def _field(row: dict, configured: str, kind: str) -> Any:
    for name in (configured, *_ALIASES[kind]):
        if name in row and row[name] not in (None, ""):
            return row[name]
    return None


def read_task_rows(path: Path) -> list[tuple[str, dict]]:
    """(where, row) pairs from a JSONL, JSON or CSV file; ``where`` names the line or row."""
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((f"line {n}", json.loads(line)))
                except ValueError as exc:
                    raise NodeError(f"{path.name} line {n} is not JSON: {exc}", input="file") from None
        return rows
    if suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise NodeError(f"{path.name} is not JSON: {exc}", input="file") from None
        if isinstance(data, dict) and isinstance(data.get("tasks"), list):
            data = data["tasks"]
        if not isinstance(data, list):
            raise NodeError(f"{path.name} should hold a list of tasks (or {{\"tasks\": [...]}})", input="file")
        return [(f"item {n}", row) for n, row in enumerate(data)]
    return [(f"row {n}", dict(row)) for n, row in enumerate(csv.DictReader(io.StringIO(text)), 2)]


@node("LoadTasks", category="llm/orca", outputs={"tasks": "RECORDS"})
class LoadTasks(Node):
    """Load tasks from JSONL, JSON or CSV: prompt, task type, optional reference answer, optional id.

    Column names are configurable; common aliases (question/instruction, type/category,
    answer/target) are accepted too. Output rows: {id, task_type, prompt, reference}.
    """
    file: str = FileInput("tasks", extensions=TASK_EXTENSIONS,
                          description=f"JSONL/JSON/CSV file in the input folder, or {DEMO_TASKS}")
    prompt_field: str = Widget("prompt")
    type_field: str = Widget("task_type")
    reference_field: str = Widget("reference")
    id_field: str = Widget("id")
    default_type: str = Widget("general", description="task type of rows that have none")
    limit: int = Widget(0, ge=0, description="first N tasks only (0 = all)")

    def run(self, ctx):
        path = ctx.env.materialise(self.file) if ctx.env.demo(self.file) else ctx.env.files.resolve("tasks", self.file)
        if path is None or not path.is_file():
            raise NodeError(f"task file {self.file!r} not found", input="file")
        tasks, seen = [], set()
        for where, row in read_task_rows(path):
            if not isinstance(row, dict):
                raise NodeError(f"{path.name} {where}: expected an object with a prompt", input="file")
            prompt = _field(row, self.prompt_field, "prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                raise NodeError(f"{path.name} {where}: no {self.prompt_field!r} text", input="file")
            task_id = str(_field(row, self.id_field, "id") or f"task-{len(tasks) + 1:04d}")
            if task_id in seen:
                raise NodeError(f"{path.name} {where}: duplicate id {task_id!r}", input="file")
            seen.add(task_id)
            reference = _field(row, self.reference_field, "reference")
            tasks.append({"id": task_id, "task_type": str(_field(row, self.type_field, "task_type") or self.default_type),
                          "prompt": prompt, "reference": None if reference is None else str(reference)})
            if self.limit and len(tasks) >= self.limit:
                break
        if not tasks:
            raise NodeError(f"{path.name} holds no tasks", input="file")
        ctx.ui["text"] = f"{len(tasks)} tasks, types: {', '.join(sorted({t['task_type'] for t in tasks}))}"
        return {"tasks": tasks}


@node("Strategies", category="llm/orca", outputs={"strategies": "STRATEGIES"})
class Strategies(Node):
    """The library of solution strategies, each a detailed system instruction (editable).

    Clear a text to drop that strategy; add your own in ``extra`` as {"name": "instruction"}.
    """
    direct_answer: str = Widget(DIRECT_ANSWER, multiline=True)
    step_by_step: str = Widget(STEP_BY_STEP, multiline=True)
    explain_then_answer: str = Widget(EXPLAIN_THEN_ANSWER, multiline=True)
    recall_then_generate: str = Widget(RECALL_THEN_GENERATE, multiline=True)
    recall_reason_generate: str = Widget(RECALL_REASON_GENERATE, multiline=True)
    extra: dict[str, str] = Widget({}, description='more strategies: {"name": "system instruction"}')

    def run(self, ctx):
        library = {name: getattr(self, name) for name in ("direct_answer", "step_by_step", "explain_then_answer",
                                                          "recall_then_generate", "recall_reason_generate")}
        library.update(self.extra or {})
        library = {name: text for name, text in library.items() if text and text.strip()}
        if not library:
            raise NodeError("every strategy is empty")
        return {"strategies": library}


# --- running many LLM calls --------------------------------------------------------------------

def run_calls(ctx, spec: LLMSpec, calls: list[list[dict]], describe: Callable[[int], str],
              on_error: str = "fail") -> tuple[list[dict | None], list[tuple[int, str]]]:
    """Answer every call (cache first), at most ``spec.concurrency`` in flight.

    One progress event per finished call; an interrupt stops submitting at once. Each answer is
    cached the moment it arrives (by the worker), so whatever finished survives an interrupt,
    a failure elsewhere or a killed process. Returns (results, [(index, error)]) .
    """
    service, cache = llm_service(ctx), _llm_cache(ctx)
    aborted = threading.Event()  # set when this node stops: in-flight calls then stop retrying
    should_stop = lambda: ctx.interrupt.is_set or aborted.is_set()  # noqa: E731
    total = len(calls)
    results: list[dict | None] = [None] * total
    failures: list[tuple[int, str]] = []
    if total == 0:
        return results, failures
    ctx.progress(0, total)
    workers = max(1, spec.concurrency)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"llm-{ctx.node_id}")
    upcoming = iter(range(total))
    pending: dict = {}

    def submit_next() -> None:
        for i in upcoming:
            pending[pool.submit(service.complete, spec, calls[i], cache, should_stop)] = i
            return

    try:
        for _ in range(workers):
            submit_next()
        done = 0
        while pending:
            finished, _ = wait(list(pending), timeout=0.1, return_when=FIRST_COMPLETED)
            ctx.check_interrupt()
            for future in finished:
                i = pending.pop(future)
                try:
                    results[i] = future.result()
                except Interrupted:
                    raise
                except Exception as exc:  # noqa: BLE001 - every failure names its record
                    message = str(exc) if isinstance(exc, LLMCallError) else f"{type(exc).__name__}: {exc}"
                    if on_error == "fail":
                        raise NodeError(f"{describe(i)} failed: {message}") from exc  # the event names the node
                    failures.append((i, message))
                done += 1
                ctx.progress(done, total)
                submit_next()
    finally:
        # A request already sent finishes in the background and caches its answer; it is not
        # retried, and queued calls are dropped.
        aborted.set()
        pool.shutdown(wait=False, cancel_futures=True)
    return results, failures


def _task_label(task: dict) -> str:
    return f"task {task.get('id')!r} ({excerpt(task.get('prompt', ''))!r})"


def _messages(system: str, prompt: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]


# --- scoring -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def normalise(text: str) -> str:
    text = re.sub(r"[^\w\s.-]", " ", str(text).lower())
    return " ".join(text.replace("_", " ").split()).strip(" .")


def final_answer(text: str) -> str:
    """The text after the last 'Answer:' marker, else the last non-empty line."""
    marks = list(re.finditer(r"answer\s*[:：]", text, flags=re.IGNORECASE))
    if marks:
        return text[marks[-1].end():].strip()
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _numbers(text: str) -> list[float]:
    values = []
    for match in _NUMBER.findall(text):
        try:
            values.append(float(match.replace(",", "")))
        except ValueError:
            pass
    return values


def score_answer(scorer: str, answer: str, reference: str) -> float:
    """1.0 when ``answer`` matches ``reference`` under ``scorer``, else 0.0."""
    if scorer == "exact":  # the final answer, normalised, equals the reference
        return float(normalise(final_answer(answer)) == normalise(reference) or
                     normalise(answer) == normalise(reference))
    if scorer == "numeric":  # the last number of the final answer equals the reference number
        want = _numbers(reference)
        got = _numbers(final_answer(answer)) or _numbers(answer)
        return float(bool(want and got) and abs(got[-1] - want[-1]) <= 1e-6 * max(1.0, abs(want[-1])))
    ref = normalise(reference)  # "contains": the reference appears as whole words
    return float(bool(ref) and re.search(rf"(?<!\w){re.escape(ref)}(?!\w)", normalise(answer)) is not None)


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in re.split(r"[,\s]+", text) if n.strip()]


# --- selecting, answering, erasing -------------------------------------------------------------

@node("StrategySelector", category="llm/orca", outputs={"mapping": "STRATEGY_MAP", "scores": "RECORDS"})
class StrategySelector(Node):
    """Choose a strategy per task type: from ``mapping``, or by search.

    search: for each task type, every candidate strategy answers (up to ``max_probes``) tasks
    that have reference answers; the best scorer wins (ties go to the mapping's choice, then
    to ``default_strategy``, then to candidate order). Types without references use the
    mapping, then ``default_strategy``. ``scores`` is the table of (type, strategy, score).
    """
    tasks: Any = Socket("RECORDS")
    strategies: Any = Socket("STRATEGIES")
    llm: Any = Socket("LLM", optional=True, description="needed by search")
    mode: Literal["search", "mapping"] = Widget("search")
    mapping: dict[str, str] = Widget({}, description='{"task type": "strategy"}; "*" for every other type')
    default_strategy: str = Widget("step_by_step")
    candidates: str = Widget("", description="strategies to try, comma-separated (empty = all)")
    scorer: Literal["contains", "exact", "numeric"] = Widget("contains")
    max_probes: int = Widget(8, ge=1, le=10_000, description="reference tasks tried per type")

    def run(self, ctx):
        library: dict[str, str] = self.strategies
        for key, name in {**self.mapping, "": self.default_strategy}.items():
            if name not in library:
                raise NodeError(f"strategy {name!r} is not in the library ({', '.join(library)})",
                                input="mapping" if key else "default_strategy")
        candidates = _split_names(self.candidates) or list(library)
        unknown = [c for c in candidates if c not in library]
        if unknown:
            raise NodeError(f"unknown candidate strategies {unknown}; known: {', '.join(library)}", input="candidates")
        types = list(dict.fromkeys(t["task_type"] for t in self.tasks))
        fallback = {t: self.mapping.get(t, self.mapping.get("*", self.default_strategy)) for t in types}
        if self.mode == "mapping":
            return {"mapping": fallback, "scores": []}
        if self.llm is None:
            raise NodeError("search mode needs an LLM: link the llm input (or use mode 'mapping')", input="llm")

        probes = {t: [task for task in self.tasks if task["task_type"] == t and task.get("reference")][: self.max_probes]
                  for t in types}
        plan = [(t, s, task) for t in types for s in candidates for task in probes[t]]
        results, _ = run_calls(ctx, self.llm, [_messages(library[s], task["prompt"]) for _, s, task in plan],
                               describe=lambda i: f"probe of strategy {plan[i][1]!r} on {_task_label(plan[i][2])}")
        correct: dict[tuple[str, str], float] = {}
        for (t, s, task), result in zip(plan, results):
            correct[(t, s)] = correct.get((t, s), 0.0) + score_answer(self.scorer, result["content"], task["reference"])

        mapping, scores = {}, []
        for t in types:
            if not probes[t]:
                mapping[t] = fallback[t]
                scores.append({"task_type": t, "strategy": fallback[t], "score": None, "correct": 0, "tried": 0,
                               "chosen": True, "note": "no reference answers: from mapping/default"})
                continue
            table = {s: correct.get((t, s), 0.0) / len(probes[t]) for s in candidates}
            best = max(table.values())
            tied = [s for s in candidates if table[s] == best]
            preferred = [s for s in (fallback[t], self.default_strategy) if s in tied]
            mapping[t] = (preferred or tied)[0]
            for s in candidates:
                scores.append({"task_type": t, "strategy": s, "score": round(table[s], 6),
                               "correct": int(correct.get((t, s), 0)), "tried": len(probes[t]),
                               "chosen": s == mapping[t]})
        ctx.ui["text"] = "\n".join(f"{t}: {s}" for t, s in mapping.items())
        return {"mapping": mapping, "scores": scores}


@node("LLMTeacher", category="llm/orca", outputs={"records": "RECORDS", "failures": "RECORDS"})
class LLMTeacher(Node):
    """The teacher answers every task under the system instruction of its type's strategy.

    Output: chat records {"messages": [system, user, assistant], "meta": {...}}. Answers are
    cached one by one as they arrive: an interrupted, failed or killed run loses nothing that
    finished. ``on_error``: fail (stop, naming the record) or skip (listed in ``failures``).
    """
    llm: Any = Socket("LLM")
    tasks: Any = Socket("RECORDS")
    strategies: Any = Socket("STRATEGIES")
    mapping: Any = Socket("STRATEGY_MAP", optional=True, description="task type -> strategy (else the default)")
    default_strategy: str = Widget("step_by_step")
    on_error: Literal["fail", "skip"] = Widget("fail")

    def run(self, ctx):
        library: dict[str, str] = self.strategies
        mapping: dict[str, str] = self.mapping or {}
        chosen = []
        for task in self.tasks:
            name = mapping.get(task["task_type"], mapping.get("*", self.default_strategy))
            if name not in library:
                raise NodeError(f"strategy {name!r} (for task type {task['task_type']!r}) is not in the library "
                                f"({', '.join(library)})", input="mapping" if mapping else "default_strategy")
            chosen.append(name)
        tasks = self.tasks
        calls = [_messages(library[name], task["prompt"]) for task, name in zip(tasks, chosen)]
        results, failed = run_calls(ctx, self.llm, calls, on_error=self.on_error,
                                    describe=lambda i: f"record {i + 1} of {len(tasks)}, {_task_label(tasks[i])}")
        records, failures = [], []
        for i, (task, name, messages, result) in enumerate(zip(tasks, chosen, calls, results)):
            if result is None:
                continue
            meta = {"id": task["id"], "task_type": task["task_type"], "strategy": name}
            if task.get("reference") is not None:
                meta["reference"] = task["reference"]
            records.append({"messages": [*messages, {"role": "assistant", "content": result["content"]}], "meta": meta})
        for i, message in failed:
            failures.append({"index": i, "id": tasks[i]["id"], "task_type": tasks[i]["task_type"],
                             "strategy": chosen[i], "error": message})
        ctx.ui["text"] = f"{len(records)} answered, {len(failures)} failed"
        return {"records": records, "failures": failures}


@node("PromptEraser", category="llm/orca", outputs={"records": "RECORDS"})
class PromptEraser(Node):
    """Replace each record's strategy-specific system instruction with a generic one.

    The user prompt and the teacher's answer stay as they are, so the student learns to
    produce the strategy's kind of answer without being told the strategy. An empty
    ``generic_system`` drops the system message altogether.
    """
    records: Any = Socket("RECORDS")
    generic_system: str = Widget(GENERIC_SYSTEM, multiline=True)

    def run(self, ctx):
        erased = []
        for n, record in enumerate(self.records):
            messages = record.get("messages")
            if not isinstance(messages, list) or not messages:
                raise NodeError(f"record {n + 1} has no messages list", input="records")
            rest = [dict(m) for m in messages if m.get("role") != "system"]
            system = [{"role": "system", "content": self.generic_system}] if self.generic_system.strip() else []
            meta = {**record.get("meta", {}), "erased": True}
            erased.append({"messages": system + rest, "meta": meta})
        return {"records": erased}


# --- dataset I/O -------------------------------------------------------------------------------

@node("SaveDataset", category="llm/orca", output_node=True)
class SaveDataset(Node):
    """Write chat records as JSONL ({"messages": [...]} per line, as fine-tuning tools take them).

    A sidecar ``<name>.provenance.json`` holds the workflow, node versions, input-file hashes,
    the dataset's sha256 and counts per task type and strategy. ``include_meta`` keeps each
    record's "meta" (id, task type, strategy) in the JSONL too.
    """
    records: Any = Socket("RECORDS")
    filename: str = Widget("orca2_dataset.jsonl")
    include_meta: bool = Widget(False)

    def run(self, ctx):
        import hashlib
        name = Path(self.filename).name
        if not name:
            raise NodeError("filename is empty", input="filename")
        if not name.endswith(".jsonl"):
            name += ".jsonl"
        lines = []
        for n, record in enumerate(self.records):
            messages = record.get("messages")
            if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m and "content" in m
                                                         for m in messages):
                raise NodeError(f"record {n + 1} is not a chat record (messages of role/content)", input="records")
            row = {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}
            if self.include_meta and record.get("meta"):
                row["meta"] = record["meta"]
            lines.append(json.dumps(row, ensure_ascii=False))
        text = "".join(line + "\n" for line in lines)
        out_dir = ctx.env.output_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / name
        atomic_write(path, text)

        def counts(key: str) -> dict[str, int]:
            found: dict[str, int] = {}
            for record in self.records:
                value = str(record.get("meta", {}).get(key))
                found[value] = found.get(value, 0) + 1
            return found

        sidecar = {"format": "nodegraph/dataset-provenance", "version": 1, "dataset": name,
                   "records": len(lines), "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                   "task_types": counts("task_type"), "strategies": counts("strategy"),
                   "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "workflow": ctx.workflow, "provenance": ctx.provenance() if ctx.graph is not None else None}
        side_path = out_dir / (name[: -len(".jsonl")] + ".provenance.json")
        atomic_write(side_path, json.dumps(sidecar, indent=2, ensure_ascii=False, default=str) + "\n")
        ctx.record_file(path)
        ctx.record_file(side_path)
        ctx.ui["text"] = f"{len(lines)} records -> {path}"
        return {}


@node("PreviewRecords", category="llm/orca", output_node=True)
class PreviewRecords(Node):
    """Show the first few records (chat records or any rows) on the canvas."""
    records: Any = Socket("RECORDS")
    count: int = Widget(3, ge=1, le=100)
    max_chars: int = Widget(300, ge=20, le=100_000, description="per message")

    def run(self, ctx):
        shown = []
        blocks = [f"{len(self.records)} records"]
        for n, record in enumerate(self.records[: self.count]):
            if isinstance(record.get("messages"), list):
                messages = [{"role": m.get("role"), "content": excerpt(m.get("content", ""), self.max_chars)}
                            for m in record["messages"]]
                shown.append({**record, "messages": messages})
                blocks.append(f"--- record {n + 1}" + "".join(f"\n[{m['role']}] {m['content']}" for m in messages))
            else:
                row = {k: excerpt(v, self.max_chars) if isinstance(v, str) else v for k, v in record.items()}
                shown.append(row)
                blocks.append(f"--- row {n + 1}\n{json.dumps(row, ensure_ascii=False)}")
        ctx.ui["text"] = "\n".join(blocks)
        ctx.ui["records"] = shown
        return {}
