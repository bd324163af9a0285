"""Text side of the needle-in-a-haystack test: counting tokens, sizing filler, placing needles.

Token counts come from the backend's own tokenizer where it has one (local transformers
models); an OpenAI-compatible endpoint exposes no tokenizer, so there we use the documented
approximation of one token per four characters of English text (OpenAI's rule of thumb).
Every count names which of the two it is.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APPROX_CHARS_PER_TOKEN = 4
APPROX_NAME = f"approximation: 1 token = {APPROX_CHARS_PER_TOKEN} characters"
MESSAGE_OVERHEAD_TOKENS = 4  # role and separators per chat message, for approximate prompt sizes
CORPUS_EXTENSIONS = (".txt", ".md")
# A sentence ends at . ! or ? (maybe followed by a closing quote or bracket), then whitespace.
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]?\s+")


class ApproxCounter:
    """ceil(characters / 4): no tokenizer needed; off by tens of percent for code or non-English."""
    name = APPROX_NAME
    exact = False

    def count(self, text: str) -> int:
        return math.ceil(len(text) / APPROX_CHARS_PER_TOKEN)

    def prefix_end(self, text: str, tokens: int) -> int:
        """Character offset where the first ``tokens`` tokens of ``text`` end."""
        return min(len(text), max(0, tokens) * APPROX_CHARS_PER_TOKEN)

    def prompt_tokens(self, messages: list[dict]) -> int:
        return sum(self.count(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages) + 2


class TokenizerCounter:
    """Exact counts with a Hugging Face tokenizer (the local model's own)."""
    exact = True

    def __init__(self, tokenizer: Any, model: str):
        self.tokenizer = tokenizer
        self.name = f"tokenizer of {Path(model).name}"

    def _encode(self, text: str, offsets: bool = False):
        # verbose=False: a haystack longer than the model's window is expected here; the window is
        # checked on the whole prompt, with a clear error, before anything is asked.
        return self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=offsets, verbose=False)

    def count(self, text: str) -> int:
        return len(self._encode(text)["input_ids"])

    def prefix_end(self, text: str, tokens: int) -> int:
        if tokens <= 0:
            return 0
        if getattr(self.tokenizer, "is_fast", False):
            spans = self._encode(text, offsets=True)["offset_mapping"]
            return len(text) if tokens >= len(spans) else spans[tokens - 1][1]
        ids = self._encode(text)["input_ids"]
        head = self.tokenizer.decode(ids[:tokens])
        return len(head) if text.startswith(head) else min(len(text), len(head))

    def prompt_tokens(self, messages: list[dict]) -> int:
        """Tokens of the whole chat prompt, template and generation prompt included."""
        enc = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                 return_dict=True)
        ids = enc["input_ids"]
        return len(ids[0]) if ids and isinstance(ids[0], list) else len(ids)


def counter_for(service, spec) -> ApproxCounter | TokenizerCounter:
    tokenizer = service.tokenizer(spec) if spec is not None else None
    return TokenizerCounter(tokenizer, spec.model) if tokenizer is not None else ApproxCounter()


# --- the haystack's source text --------------------------------------------------------------

def read_corpus(paths: list[Path]) -> list[str]:
    """Documents from text files, in the order given; empty files are skipped."""
    documents = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            documents.append(re.sub(r"\r\n?", "\n", text))
    return documents


def corpus_files(path: Path) -> list[Path]:
    """A file, or a folder's .txt/.md files (recursively, sorted by name)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_EXTENSIONS
                  and not p.name.startswith("."))


def filler(documents: list[str], tokens: int, counter) -> str:
    """The first ``tokens`` tokens of the documents, repeated as often as needed.

    The cut is snapped back to the last sentence end when one lies in the final tenth, so the
    filler does not stop mid-word; it is then at most that much short of ``tokens``.
    """
    if tokens <= 0:
        return ""
    pool = "\n\n".join(documents)
    pool_tokens = max(1, counter.count(pool))
    text = "\n\n".join([pool] * (tokens // pool_tokens + 2))
    cut = text[: counter.prefix_end(text, tokens)]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut, int(len(cut) * 0.9))]
    return (cut[: ends[-1]] if ends else cut).rstrip()


# --- needles ---------------------------------------------------------------------------------

def needle_depths(first: float, count: int) -> list[float]:
    """Where the needles go: the first at ``first`` %, the rest evenly spaced towards the end."""
    if count <= 1:
        return [first]
    step = (100.0 - first) / count
    return [first + i * step for i in range(count)]


def sentence_start(text: str, offset: int) -> int:
    """The start of the sentence holding ``offset`` (0 at the top, len(text) at the end)."""
    if offset >= len(text):
        return len(text)
    start = 0
    for match in _SENTENCE_END.finditer(text, 0, offset):
        start = match.end()
    return start


@dataclass(frozen=True)
class Placed:
    context: str  # the haystack with the needles in it
    offsets: tuple[int, ...]  # character offset of each needle in ``context``
    token_offsets: tuple[int, ...]  # token offset of each needle (tokens before it)
    tokens: int  # tokens of the whole context


def insert_needles(haystack: str, needles: list[str], depth: float, counter) -> Placed:
    """Put each needle at a sentence boundary at (or just before) its depth of the haystack.

    Depth 0 puts the first needle before all filler, 100 after all of it. Depths are measured
    in tokens of the haystack; several needles are spread from ``depth`` towards the end.
    """
    haystack = haystack.strip()
    haystack_tokens = counter.count(haystack)
    cuts = []
    for d in needle_depths(depth, len(needles)):
        offset = counter.prefix_end(haystack, round(haystack_tokens * d / 100.0)) if d < 100 else len(haystack)
        cuts.append(sentence_start(haystack, offset))
    pieces, offsets, last, length = [], [], 0, 0
    for cut, needle in sorted(zip(cuts, needles), key=lambda pair: pair[0]):
        head = haystack[last:cut]
        pieces.append(head)
        length += len(head)
        if length and not pieces[-1].endswith((" ", "\n")):
            pieces.append(" ")
            length += 1
        offsets.append(length)
        piece = needle.strip() + ("" if cut >= len(haystack) else " ")
        pieces.append(piece)
        length += len(piece)
        last = cut
    pieces.append(haystack[last:])
    context = "".join(pieces)
    token_offsets = tuple(counter.count(context[:o]) for o in offsets)
    return Placed(context, tuple(offsets), token_offsets, counter.count(context))


def filler_for(documents: list[str], length: int, needles: list[str], counter) -> str:
    """Filler for a context of about ``length`` tokens: room is left for the needles."""
    needle_tokens = sum(counter.count(" " + n.strip() + " ") for n in needles)
    if length <= needle_tokens:
        raise ValueError(f"length {length} leaves no room for filler: the needles alone are {needle_tokens} tokens")
    return filler(documents, length - needle_tokens, counter)


def sized_context(documents: list[str], length: int, needles: list[str], depth: float, counter) -> Placed:
    """A context of about ``length`` tokens (filler plus needles), the needles at ``depth``."""
    return insert_needles(filler_for(documents, length, needles, counter), needles, depth, counter)


def cell_messages(system: str, template: str, context: str, question: str) -> list[dict]:
    """The chat of one cell: the system prompt (when any) and the user turn from the template."""
    user = template.replace("{context}", context).replace("{question}", question)
    messages = [{"role": "system", "content": system}] if system.strip() else []
    return messages + [{"role": "user", "content": user}]
