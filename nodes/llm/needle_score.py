"""Scoring a recall answer: exact, contains, regex, or an LLM judge with a 1-10 rubric.

Every score is in 0..1. With several expected answers (one per line, e.g. one per needle) the
exact/contains/regex score is the fraction found; the judge's 1-10 grade is divided by 10.
"""
from __future__ import annotations

import re

from .orca import normalise

METHODS = ("contains", "exact", "regex", "judge")

JUDGE_SYSTEM = (
    "You grade answers for a long-context recall test. Compare the answer with the reference "
    "answer and give one integer grade from 1 to 10:\n"
    "1 - unrelated to the reference, or a refusal;\n"
    "3 - touches the subject but misses the reference's facts;\n"
    "5 - part of the reference's facts, with errors or guesses;\n"
    "7 - the reference's facts with small omissions or extra unsupported details;\n"
    "10 - exactly the reference's facts.\n"
    "Reply with the number only.")
JUDGE_TEMPLATE = "Question: {question}\n\nReference answer: {expected}\n\nAnswer to grade: {answer}\n\nGrade (1-10):"
_GRADE = re.compile(r"(?<![\d.])(10|[1-9])(?![\d.])")


def expected_answers(expected: str) -> list[str]:
    return [line.strip() for line in expected.splitlines() if line.strip()]


def check_patterns(patterns: list[str]) -> str | None:
    """The first regular expression that does not compile, with the reason; None when all do."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"{pattern!r}: {exc}"
    return None


def score_text(method: str, answer: str, expected: str) -> float:
    """Recall score of ``answer`` (0..1) for exact, contains and regex."""
    wanted = expected_answers(expected)
    if not wanted:
        raise ValueError("no expected answer")
    if method == "exact":  # the whole answer, or one of its lines, equals an expected answer (normalised)
        lines = {normalise(line) for line in answer.splitlines() if line.strip()} | {normalise(answer)}
        found = sum(normalise(w) in lines for w in wanted)
    elif method == "regex":
        found = sum(re.search(p, answer, flags=re.IGNORECASE | re.DOTALL) is not None for p in wanted)
    else:  # contains: each expected answer appears as whole words, case and punctuation aside
        text = normalise(answer)
        found = sum(re.search(rf"(?<!\w){re.escape(normalise(w))}(?!\w)", text) is not None for w in wanted)
    return found / len(wanted)


def judge_messages(question: str, expected: str, answer: str) -> list[dict]:
    user = JUDGE_TEMPLATE.format(question=question, expected=" / ".join(expected_answers(expected)), answer=answer)
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def parse_grade(reply: str) -> int | None:
    """The judge's 1-10 grade: the first whole number from 1 to 10 in its reply."""
    match = _GRADE.search(reply)
    return int(match.group(1)) if match else None
