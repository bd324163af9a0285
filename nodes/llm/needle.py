"""Needle in a haystack: long-context recall over a grid of context lengths x needle depths.

A fact (the needle) is put at a chosen depth of filler text (the haystack), the model is asked
for it, and the answer is scored; NeedleGrid does that for every (length, depth) cell and
RecallHeatmap draws the scores. One cell by hand, and the whole grid:

    Haystack ─> InsertNeedle ─> AskLLM ─> ScoreRecall
    Haystack ─┬─> NeedleGrid ─> RecallHeatmap / SaveReport
    LocalLLM | OpenAIChatLLM ─┘

Every cell is one call through the LLM family's response cache (``cache.py``), cached the
moment it is answered: an interrupted grid resumes where it stopped, and a widened grid asks
only its new cells. Token counts come from the backend's tokenizer where it has one, else from
the approximation in ``needle_text.py``; outputs say which.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Literal

from nodegraph import DemoAsset, FileInput, FileKind, Node, NodeError, Socket, SocketType, Widget, node
from nodegraph.files.roots import atomic_write

from .backends import LLMSpec
from .needle_report import heatmap_png, recall_table, report_markdown, table_csv, table_json
from .needle_score import METHODS, check_patterns, expected_answers, judge_messages, parse_grade, score_text
from .needle_text import (CORPUS_EXTENSIONS, cell_messages, corpus_files, counter_for, filler, filler_for,
                          insert_needles, read_corpus)
from .orca import excerpt, llm_service, run_calls

SOCKET_TYPES = [
    SocketType("HAYSTACK", description="filler documents for recall tests, with the text sized to the "
                                       "requested tokens and how tokens were counted",
               color="#b6d7a8", persist=False, check=lambda v: isinstance(v, dict) and "documents" in v),
]

DEMO_CORPUS = "demo:needle-corpus"  # public-domain essays shipped with the pack (see demo/needle_corpus.md)
DEMO_CORPUS_FILE = Path(__file__).parent / "demo" / "needle_corpus.txt"

FILE_KINDS = [FileKind("haystack", "input", "filler text for recall tests: a .txt/.md file or a folder of them")]
DEMOS = [
    # Shipped, not built: its version is its content, so editing the corpus re-runs the Haystack.
    DemoAsset("needle-corpus", "haystack", build=lambda _dir: DEMO_CORPUS_FILE, locate=lambda _dir: DEMO_CORPUS_FILE,
              version=hashlib.blake2b(DEMO_CORPUS_FILE.read_bytes(), digest_size=8).hexdigest(),
              description="eleven public-domain essays (21 KB), repeated to fill long contexts"),
]

NEEDLE = "The secret ingredient in Grandmother Ilse's plum cake is a spoonful of ground cardamom."
QUESTION = "What is the secret ingredient in Grandmother Ilse's plum cake?"
EXPECTED = "cardamom"
SYSTEM = "You are a helpful assistant that answers questions about a document precisely and briefly."
TEMPLATE = ("<document>\n{context}\n</document>\n\n{question} "
            "Answer in one sentence, using only the document.")
JUDGE_PARAMS = {"temperature": 0.0, "max_tokens": 16}


def cell_label(length: int, depth: float) -> str:
    return f"cell (length {length}, depth {depth:g}%)"


def ask_spec(spec: LLMSpec, max_tokens: int, temperature: float) -> LLMSpec:
    """The backend with this node's answer length and temperature (both part of the cache key)."""
    params = {**spec.sampling, "max_tokens": int(max_tokens), "temperature": float(temperature)}
    return dataclasses.replace(spec, params=tuple(sorted(params.items())))


def window_problem(service, spec: LLMSpec, counter, messages: list[dict], max_tokens: int) -> tuple[int, str | None]:
    """(prompt tokens, why the prompt does not fit the model's window, or None)."""
    prompt = counter.prompt_tokens(messages)
    window = service.context_window(spec)
    if window and prompt + max_tokens > window:
        return prompt, (f"the prompt is {prompt} tokens ({counter.name}) and max_tokens {max_tokens}: more than the "
                        f"{window}-token context window of {spec.describe()}; nothing was truncated or sent")
    return prompt, None


# --- field groups shared by the one-cell nodes and the grid ----------------------------------

class _NeedleFields(Node):
    needles: str = Widget(NEEDLE, multiline=True, description="one needle per line; several lines = multi-needle "
                                                                 "(the first at the depth, the rest spread towards the end)")

    def needle_list(self) -> list[str]:
        needles = [line.strip() for line in self.needles.splitlines() if line.strip()]
        if not needles:
            raise NodeError("no needle: write at least one line", input="needles")
        return needles


class _AskFields(Node):
    question: str = Widget(QUESTION, multiline=True)
    system_prompt: str = Widget(SYSTEM, multiline=True, description="empty = no system message")
    prompt_template: str = Widget(TEMPLATE, multiline=True, description="the user turn; {context} and {question} "
                                                                          "are filled in")
    max_tokens: int = Widget(64, ge=1, le=32768, description="answer length; replaces the backend's setting")
    temperature: float = Widget(0.0, ge=0.0, le=2.0, step=0.05, description="replaces the backend's setting")

    @classmethod
    def check_inputs(cls, literals, env):
        problems = super().check_inputs(literals, env)
        template = literals.get("prompt_template")  # normalised, defaults filled; absent when linked
        if template is not None and "{context}" not in template:
            problems.append(("prompt_template", "the template has no {context}: the model would never see the haystack"))
        return problems


class _ScoreFields(Node):
    method: Literal["contains", "exact", "regex", "judge"] = Widget(
        "contains", description="contains/exact/regex against `expected`, or an LLM judge grading 1-10")
    expected: str = Widget(EXPECTED, multiline=True, description="the answer (one per line for several needles; "
                                                                   "regular expressions for `regex`)")
    judge: Any = Socket("LLM", optional=True, description="the grading model, for method `judge`")

    @classmethod
    def check_inputs(cls, literals, env):
        problems = super().check_inputs(literals, env)
        expected = literals.get("expected")
        if expected is not None and not expected_answers(expected):
            problems.append(("expected", "no expected answer"))
        elif expected is not None and literals.get("method") == "regex":
            bad = check_patterns(expected_answers(expected))
            if bad:
                problems.append(("expected", f"not a regular expression: {bad}"))
        return problems

    def judge_spec(self) -> LLMSpec:
        if self.judge is None:
            raise NodeError("method 'judge' needs a grading model: link the judge input", input="judge")
        return ask_spec(self.judge, JUDGE_PARAMS["max_tokens"], JUDGE_PARAMS["temperature"])


# --- haystack and one cell -------------------------------------------------------------------

@node("Haystack", category="llm/needle", outputs={"haystack": "HAYSTACK", "text": "STRING", "tokens": "INT"})
class Haystack(Node):
    """Filler text for recall tests: a .txt/.md file, a folder of them, or the shipped demo corpus.

    ``text`` is the documents (repeated as needed) cut to ``tokens`` tokens at a sentence end;
    NeedleGrid sizes each of its cells itself from the same documents. Tokens are counted with
    the tokenizer of ``llm`` when it has one (local models), else approximated (4 characters).
    """
    source: str = FileInput("haystack", default=DEMO_CORPUS, extensions=CORPUS_EXTENSIONS,
                            description=f"text file or folder in the input folder, or {DEMO_CORPUS}")
    tokens: int = Widget(2000, ge=1, le=10_000_000)
    llm: Any = Socket("LLM", optional=True, description="count tokens with this model's tokenizer")

    def run(self, ctx):
        if ctx.env.demo(self.source) is not None:  # validation checked it names a haystack demo
            path = ctx.env.materialise(self.source)
        else:
            path = ctx.env.files.resolve("haystack", self.source)
        if path is None or not path.exists():
            raise NodeError(f"haystack source {self.source!r} not found", input="source")
        documents = read_corpus(corpus_files(path))
        if not documents:
            raise NodeError(f"{self.source!r} holds no text ({'/'.join(CORPUS_EXTENSIONS)} files)", input="source")
        counter = counter_for(llm_service(ctx), self.llm)
        text = filler(documents, self.tokens, counter)
        count = counter.count(text)
        ctx.ui["text"] = f"{len(documents)} documents; {count} tokens ({counter.name})"
        return {"haystack": {"documents": documents, "text": text, "tokens": count, "token_counter": counter.name,
                             "source": self.source, "llm": self.llm},
                "text": text, "tokens": count}


@node("InsertNeedle", category="llm/needle", outputs={"context": "STRING", "tokens": "INT"})
class InsertNeedle(_NeedleFields):
    """Put the needle(s) into the haystack at ``depth`` % of its tokens, at a sentence boundary.

    0 = before all filler, 100 = after it. With several needles (one per line) the first goes
    at ``depth`` and the rest are spread evenly between it and the end.
    """
    haystack: Any = Socket("HAYSTACK")
    depth: float = Widget(50.0, ge=0.0, le=100.0, step=5.0, description="% of the haystack before the needle")

    def run(self, ctx):
        counter = counter_for(llm_service(ctx), self.haystack.get("llm"))
        placed = insert_needles(self.haystack["text"], self.needle_list(), self.depth, counter)
        ctx.ui["text"] = (f"{placed.tokens} tokens ({counter.name}); needle(s) at token "
                          f"{', '.join(map(str, placed.token_offsets))}")
        return {"context": placed.context, "tokens": placed.tokens}


@node("AskLLM", category="llm/needle", outputs={"answer": "STRING", "prompt_tokens": "INT"})
class AskLLM(_AskFields):
    """Ask the model the question about the context. A prompt longer than the model's context
    window is an error naming both sizes, never a silent truncation."""
    llm: Any = Socket("LLM")
    context: str = Widget("", multiline=True, description="the haystack with the needle (link InsertNeedle)")

    def run(self, ctx):
        service, spec = llm_service(ctx), ask_spec(self.llm, self.max_tokens, self.temperature)
        counter = counter_for(service, spec)
        messages = cell_messages(self.system_prompt, self.prompt_template, self.context, self.question)
        prompt, problem = window_problem(service, spec, counter, messages, self.max_tokens)
        if problem:
            raise NodeError(problem, input="context")
        results, _ = run_calls(ctx, spec, [messages], describe=lambda i: "the question")
        answer = results[0]["content"]
        ctx.ui["text"] = f"{prompt} prompt tokens ({counter.name})\n{answer}"
        return {"answer": answer, "prompt_tokens": prompt}


@node("ScoreRecall", category="llm/needle", outputs={"score": "FLOAT"}, output_node=True)
class ScoreRecall(_ScoreFields):
    """Score an answer 0..1: contains / exact / regex against ``expected``, or an LLM judge's
    1-10 grade divided by 10 (method ``judge``, with ``judge`` linked)."""
    answer: str = Widget("", multiline=True, description="link AskLLM's answer")
    question: str = Widget(QUESTION, multiline=True, description="shown to the judge")

    def run(self, ctx):
        if self.method != "judge":
            score = score_text(self.method, self.answer, self.expected)
            ctx.ui["text"] = f"score {score:g} ({self.method})"
            return {"score": score}
        results, _ = run_calls(ctx, self.judge_spec(), [judge_messages(self.question, self.expected, self.answer)],
                               describe=lambda i: "the judge's grading")
        grade = parse_grade(results[0]["content"])
        if grade is None:
            raise NodeError(f"the judge gave no 1-10 grade: {excerpt(results[0]['content'])!r}", input="judge")
        ctx.ui["text"] = f"grade {grade}/10"
        return {"score": grade / 10}


# --- the grid --------------------------------------------------------------------------------

@node("NeedleGrid", category="llm/needle", outputs={"results": "RECORDS"})
class NeedleGrid(_NeedleFields, _AskFields, _ScoreFields):
    """Ask and score every (context length, depth) cell: one cached call per cell.

    Cells run ``concurrency`` at a time (the backend's setting), with one progress event per
    finished cell. An interrupted grid resumes from the cache; a widened grid asks only its new
    cells. Every prompt is checked against the model's window before anything is sent.
    ``results``: one row per cell (length, depth, measured tokens, needle offsets, answer, score).
    """
    llm: Any = Socket("LLM")
    haystack: Any = Socket("HAYSTACK")
    lengths: list[int] = Widget([500, 1000, 2000, 3000], description="context lengths in tokens")
    depths: list[float] = Widget([0, 25, 50, 75, 100], description="needle depths in % of the context")
    on_error: Literal["fail", "skip"] = Widget("fail", description="skip: a failed cell is kept, without a score")

    @classmethod
    def check_inputs(cls, literals, env):
        problems = super().check_inputs(literals, env)
        lengths, depths = literals.get("lengths"), literals.get("depths")
        if lengths is not None and (not lengths or min(lengths) < 1 or len(set(lengths)) < len(lengths)):
            problems.append(("lengths", "give distinct positive token counts, e.g. [1000, 2000, 4000]"))
        if depths is not None and (not depths or min(depths) < 0 or max(depths) > 100
                                   or len(set(depths)) < len(depths)):
            problems.append(("depths", "give distinct percentages from 0 to 100, e.g. [0, 50, 100]"))
        return problems

    def run(self, ctx):
        service, spec = llm_service(ctx), ask_spec(self.llm, self.max_tokens, self.temperature)
        counter, needles = counter_for(service, spec), self.needle_list()
        judge = self.judge_spec() if self.method == "judge" else None
        cells, calls, rows = [], [], []
        for length in self.lengths:
            # Sizing fillers and counting a prompt's tokens takes seconds per cell at 200K tokens:
            # an interrupt is checked before each, as it is between the cells' requests.
            ctx.check_interrupt()
            try:  # one filler per length, shared by its depths
                text = filler_for(self.haystack["documents"], length, needles, counter)
            except ValueError as exc:
                raise NodeError(f"{cell_label(length, self.depths[0])}: {exc}", input="lengths") from None
            for depth in self.depths:
                ctx.check_interrupt()
                placed = insert_needles(text, needles, depth, counter)
                messages = cell_messages(self.system_prompt, self.prompt_template, placed.context, self.question)
                prompt, problem = window_problem(service, spec, counter, messages, self.max_tokens)
                if problem:
                    raise NodeError(f"{cell_label(length, depth)}: {problem}", input="lengths")
                cells.append((length, depth))
                calls.append(messages)
                rows.append({"length": length, "depth": depth, "tokens": placed.tokens, "prompt_tokens": prompt,
                             "needle_token_offsets": list(placed.token_offsets),
                             "needle_tokens_from_end": placed.tokens - placed.token_offsets[0],
                             "token_counter": counter.name, "model": spec.describe(), "method": self.method})
        ctx.ui["text"] = f"{len(cells)} cells; tokens: {counter.name}"
        answers, failed = run_calls(ctx, spec, calls, on_error=self.on_error,
                                    describe=lambda i: cell_label(*cells[i]))
        for row, answer in zip(rows, answers):
            row.update(answer=answer["content"] if answer else None, cached=bool(answer and answer["cached"]),
                       score=None, grade=None, error=None)
        for i, message in failed:
            rows[i]["error"] = message
        self._score(ctx, rows, judge, cells)
        done = [r["score"] for r in rows if r["score"] is not None]
        asked = sum(1 for r in rows if r["answer"] is not None and not r["cached"])
        ctx.ui["text"] = (f"{len(cells)} cells ({asked} asked, {len(cells) - asked - len(failed)} from the cache, "
                          f"{len(failed)} failed); mean recall "
                          f"{sum(done) / len(done) if done else float('nan'):.3f}; tokens: {counter.name}")
        return {"results": rows}

    def _score(self, ctx, rows: list[dict], judge: LLMSpec | None, cells: list[tuple]) -> None:
        answered = [i for i, r in enumerate(rows) if r["answer"] is not None]
        if judge is None:
            for i in answered:
                rows[i]["score"] = score_text(self.method, rows[i]["answer"], self.expected)
            return
        grades, failed = run_calls(
            ctx, judge, [judge_messages(self.question, self.expected, rows[i]["answer"]) for i in answered],
            on_error=self.on_error, describe=lambda k: f"judging {cell_label(*cells[answered[k]])}")
        for k, reply in enumerate(grades):
            if reply is not None:
                grade = parse_grade(reply["content"])
                rows[answered[k]].update(grade=grade, score=None if grade is None else grade / 10)
                if grade is None:
                    rows[answered[k]]["error"] = f"the judge gave no 1-10 grade: {excerpt(reply['content'])!r}"
        for k, message in failed:
            rows[answered[k]]["error"] = f"judge: {message}"


# --- outputs ---------------------------------------------------------------------------------

def _output_name(ctx, prefix: str, suffix: str) -> Path:
    name = Path(prefix).name
    if not name:
        raise NodeError("filename_prefix is empty", input="filename_prefix")
    out = ctx.env.output_dir
    out.mkdir(parents=True, exist_ok=True)
    return out / f"{name}{suffix}"


def _table(rows: list[dict]) -> dict:
    try:
        return recall_table(rows)
    except ValueError as exc:
        raise NodeError(str(exc), input="results") from None


@node("RecallHeatmap", category="llm/needle", output_node=True)
class RecallHeatmap(Node):
    """A PNG heatmap (context lengths on x, depths on y, each cell's score written in it) plus the
    same table as CSV and JSON (the JSON also holds every cell's answer)."""
    results: Any = Socket("RECORDS")
    filename_prefix: str = Widget("needle")
    title: str = Widget("", description="empty = model and scoring method")

    def run(self, ctx):
        table = _table(self.results)
        png, _ = heatmap_png(table, self.title)
        written = []
        for suffix, data in (("_heatmap.png", png), ("_table.csv", table_csv(table)),
                             ("_table.json", table_json(table, self.results))):
            path = _output_name(ctx, self.filename_prefix, suffix)
            atomic_write(path, data)
            ctx.record_file(path)
            written.append(path.name)
        ctx.ui["text"] = f"mean recall {table['mean']}; " + ", ".join(written)
        ctx.ui["table"] = {k: table[k] for k in ("lengths", "depths", "scores")}
        return {}


@node("SaveReport", category="llm/needle", output_node=True)
class SaveReport(Node):
    """A Markdown report (settings, recall table with means per length and depth, every cell's
    answer) and a JSON twin holding the table, the cells and the workflow's provenance."""
    results: Any = Socket("RECORDS")
    filename_prefix: str = Widget("needle_report")
    title: str = Widget("Needle in a haystack: long-context recall")

    def run(self, ctx):
        table = _table(self.results)
        md_path = _output_name(ctx, self.filename_prefix, ".md")
        atomic_write(md_path, report_markdown(table, self.results, self.title))
        report = {"format": "nodegraph/needle-report", "version": 1, "title": self.title, **table,
                  "cells": self.results, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "workflow": ctx.workflow, "provenance": ctx.provenance() if ctx.graph is not None else None}
        json_path = _output_name(ctx, self.filename_prefix, ".json")
        atomic_write(json_path, json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
        for path in (md_path, json_path):
            ctx.record_file(path)
        ctx.ui["text"] = f"mean recall {table['mean']} over {len(self.results)} cells -> {md_path}"
        return {}
