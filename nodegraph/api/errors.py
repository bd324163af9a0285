"""Errors users see. Each names where the problem is (node id, input) and what is wrong."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow; validation reports all of them at once."""
    code: str  # machine-readable: unknown_type, missing_input, type_mismatch, cycle, ...
    message: str
    node: str | None = None
    input: str | None = None

    def __str__(self) -> str:
        where = []
        if self.node is not None:
            where.append(f"node {self.node!r}")
        if self.input is not None:
            where.append(f"input {self.input!r}")
        return (", ".join(where) + ": " if where else "") + self.message

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


class WorkflowInvalid(Exception):
    """The workflow cannot run; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class NodeError(Exception):
    """Raised by a node for a user-facing failure (bad file, LoRA that does not fit, ...).

    The CLI prints its message without a traceback; other exceptions keep theirs.
    """

    def __init__(self, message: str, *, input: str | None = None):
        self.input = input
        super().__init__(message)


class Interrupted(Exception):
    """Raised inside a run when its job's interrupt token is set."""


class UsageError(Exception):
    """Bad command-line usage (e.g. a --set naming an unknown input). Exit code 2."""
