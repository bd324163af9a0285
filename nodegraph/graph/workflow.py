"""The workflow file (docs/workflow-format.md) as pydantic models."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from ..api.errors import Problem, WorkflowInvalid
from ..api.readers import HEAD_BYTES, WorkflowReader

FORMAT = "nodegraph/workflow"
VERSION = 1
# Deepest nesting a workflow may have (the document itself takes 5 levels to reach an input's
# value). Far deeper than any real widget value, far shallower than Python's recursion limit,
# so no later step (pydantic, the cache key's JSON) can fail on depth.
MAX_DEPTH = 64
MAX_INT_DIGITS = 4000  # Python refuses to convert longer integer strings (4300 digits)


class Link(BaseModel):
    """An input fed by another node's named output."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)
    node: str = Field(alias="from", description="id of the node that produces the value")
    output: str = Field(description="name of that node's output")

    def to_json(self) -> dict[str, str]:
        return {"from": self.node, "output": self.output}


JsonValue = Union[None, bool, int, float, str, list[Any], dict[str, Any]]


def _input_kind(value: Any) -> str:
    return "link" if isinstance(value, Link) or (isinstance(value, dict) and "from" in value) else "value"


# An input is a link exactly when it is an object with "from" (parse_workflow names a malformed
# one): told apart up front, not by trying Link and then each JSON type in turn (pydantic's smart
# union), which was 7 of the 12 µs per node that parsing a 10,000-node workflow took.
InputValue = Annotated[Union[Annotated[Link, Tag("link")], Annotated[JsonValue, Tag("value")]],
                       Discriminator(_input_kind)]


class NodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, description="registered node type")
    inputs: dict[str, InputValue] = Field(default_factory=dict)
    ui: dict[str, Any] = Field(default_factory=dict, description="canvas layout; ignored by the executor")
    mode: Literal["normal", "bypass", "mute"] = Field(
        "normal", description="bypass: does not run, passes its matching input on; mute: does not run (nodegraph.bypass)")


class SweepAxis(BaseModel):
    """One swept input: the values it takes, one per cell along this axis."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    node: str = Field(min_length=1, description="id of the node whose input is swept")
    input: str = Field(min_length=1, description="the widget input that takes each value in turn")
    values: list[JsonValue] = Field(min_length=1, description="the values, typed as in the node's inputs")


class Sweep(BaseModel):
    """A parameter sweep (docs/sweeps.md): the workflow runs once per combination of values."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    axes: list[SweepAxis] = Field(min_length=1)
    zip: bool = Field(False, description="pair the axes' values (equal lengths) instead of crossing them")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"axes": [{"node": a.node, "input": a.input, "values": list(a.values)}
                                         for a in self.axes]}
        if self.zip:
            data["zip"] = True
        return data


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid", title="nodegraph workflow")
    format: Literal["nodegraph/workflow"] = FORMAT
    version: Literal[1] = VERSION
    nodes: dict[str, NodeEntry] = Field(default_factory=dict)
    ui: dict[str, Any] = Field(default_factory=dict, description="canvas state (viewport, ...); optional")
    sweep: Sweep | None = Field(None, description="run once per combination of these inputs' values (a sweep)")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "nodes": {}}
        for node_id, entry in self.nodes.items():
            item: dict[str, Any] = {"type": entry.type, "inputs": {
                name: (v.to_json() if isinstance(v, Link) else v) for name, v in entry.inputs.items()}}
            if entry.ui:
                item["ui"] = entry.ui
            if entry.mode != "normal":
                item["mode"] = entry.mode
            data["nodes"][node_id] = item
        if self.ui:
            data["ui"] = self.ui
        if self.sweep is not None:
            data["sweep"] = self.sweep.to_json()
        return data


def json_schema() -> dict[str, Any]:
    schema = Workflow.model_json_schema(by_alias=True)
    # A link is also a JSON object, so it matches both branches of an input: "one of" would refuse
    # every link (pydantic writes oneOf for a discriminated union; the discriminator is ours).
    inputs = schema["$defs"]["NodeEntry"]["properties"]["inputs"]["additionalProperties"]
    inputs["anyOf"] = inputs.pop("oneOf")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def parse_workflow(data: Any) -> Workflow:
    """Workflow from decoded JSON; every structural problem is reported with its place."""
    if not isinstance(data, dict):
        raise WorkflowInvalid([Problem("bad_format", f"a workflow is a JSON object, not {type(data).__name__}")])
    problem = _too_deep(data)
    if problem:
        raise WorkflowInvalid([problem])
    problems: list[Problem] = []
    if data.get("format") != FORMAT:
        problems.append(Problem("bad_format", f"'format' must be {FORMAT!r}, got {data.get('format')!r}"))
    if "version" in data and data.get("version") != VERSION:
        problems.append(Problem("bad_version", f"unknown workflow version {data.get('version')!r}; "
                                               f"this nodegraph reads version {VERSION}"))
    if problems:
        raise WorkflowInvalid(problems)
    # Links are recognised before pydantic so that a malformed link is named precisely
    # instead of silently becoming a dict literal.
    nodes = data.get("nodes")
    if isinstance(nodes, dict):
        for node_id, entry in nodes.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("inputs"), dict):
                continue
            for name, value in entry["inputs"].items():
                if isinstance(value, dict) and "from" in value:
                    if set(value) != {"from", "output"} or not all(isinstance(value[k], str) for k in value):
                        problems.append(Problem("bad_link", 'a link is {"from": "<node id>", "output": "<name>"}'
                                                f", got {json.dumps(value)[:120]}", node_id, name))
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc))
    if problems:
        raise WorkflowInvalid(_dedupe(problems))
    return workflow


def _too_deep(data: Any) -> Problem | None:
    """A problem naming where ``data`` nests deeper than MAX_DEPTH; iterative (no recursion).

    Level by level over containers only, places not tracked: a workflow of 10,000 nodes is
    checked in ~2 µs per node (tracking every value's place cost 15); the place is looked for
    only in a workflow that is too deep.
    """
    level = [data]
    for _ in range(MAX_DEPTH):
        below = []
        for value in level:
            for child in (value.values() if isinstance(value, dict) else value):
                if isinstance(child, (dict, list)):
                    below.append(child)
        if not below:
            return None
        level = below
    return _too_deep_at(data)


def _too_deep_at(data: Any) -> Problem:
    """The problem for a ``data`` that nests deeper than MAX_DEPTH, naming the first node and
    input (depth first) that does."""
    stack: list[tuple[Any, int, tuple]] = [(data, 1, ())]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict):
            children = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if depth > MAX_DEPTH:
            node = where[1] if len(where) >= 2 and where[0] == "nodes" else None
            name = where[3] if node is not None and len(where) >= 4 and where[2] == "inputs" else None
            return Problem("too_deep", f"the workflow nests more than {MAX_DEPTH} levels deep", node, name)
        stack.extend((v, depth + 1, where + (str(k),) if len(where) < 4 else where) for k, v in children)
    return Problem("too_deep", f"the workflow nests more than {MAX_DEPTH} levels deep")


def _pydantic_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        node = input_name = None
        if len(loc) >= 2 and loc[0] == "nodes":
            node = str(loc[1])
            if len(loc) >= 4 and loc[2] == "inputs":
                input_name = str(loc[3])
                # A malformed link is named above, before pydantic.
                if len(loc) > 4 and loc[4] == "link":
                    continue
            field = ".".join(str(p) for p in loc[2:] if p not in ("inputs",)) if input_name is None else None
            message = err["msg"] if not field else f"{field}: {err['msg']}"
        else:
            message = f"{'.'.join(str(p) for p in loc) or 'workflow'}: {err['msg']}"
        problems.append(Problem("bad_structure", message, node, input_name))
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.node, p.input, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


# The metadata key under which outputs embed their workflow: a PNG tEXt chunk (SaveImage), an
# MP4 tag (SaveVideo). The packs that write those files read it back (``WorkflowReader``).
PNG_WORKFLOW_KEY = "nodegraph.workflow"


def load_workflow(source: str | Path, readers: Iterable[WorkflowReader] = ()) -> Workflow:
    """Read a workflow file, or a file with a workflow embedded that one of ``readers`` (the
    catalogue's ``workflow_readers``: SaveImage's PNG, SaveVideo's MP4, ...) claims. ``readers``
    is iterated only for a file that is not JSON text, so it may load them lazily.

    Not-JSON, wrong format or version give clear problems.
    """
    path = Path(source)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        if not head.lstrip().startswith(b"{"):
            readers = tuple(readers)
            for reader in readers:
                if reader.claims(path, head):
                    return _embedded_workflow(path, reader)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowInvalid([Problem("not_found", f"workflow file {str(path)!r} does not exist")]) from None
    except UnicodeDecodeError:
        formats = ", ".join(sorted({s for r in tuple(readers) for s in r.suffixes})) or "none loaded"
        raise WorkflowInvalid([Problem("unreadable", f"{str(path)!r} is neither workflow JSON nor a file with an "
                                                     f"embedded workflow that a pack reads ({formats})")]) from None
    except OSError as exc:
        raise WorkflowInvalid([Problem("unreadable", f"cannot read {str(path)!r}: {exc}")]) from None
    return loads_workflow(text, str(path))


def _embedded_workflow(path: Path, reader: WorkflowReader) -> Workflow:
    try:
        text = reader.read(path)
    except (OSError, ValueError) as exc:
        raise WorkflowInvalid([Problem("unreadable", f"cannot read {reader.name} {str(path)!r}: {exc}")]) from None
    if not text:
        raise WorkflowInvalid([Problem("bad_format", f"{str(path)!r} is a {reader.name} without an embedded "
                                                     f"nodegraph workflow{' ' + reader.missing if reader.missing else ''}")])
    return loads_workflow(text, str(path))


def _refuse_constant(word: str) -> Any:
    raise _BadNumber(f"{word} is not a JSON number (numbers in a workflow are finite)")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _BadNumber(f"an integer of {len(text.lstrip('-'))} digits is too long "
                         f"(at most {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: finite in the text, not as a number
        raise _BadNumber(f"{text[:40]} is too large for a number")
    return value


class _BadNumber(ValueError):
    pass


def strict_json(text: str) -> Any:
    """JSON text -> value, refusing what a workflow may not hold (NaN, Infinity, numbers too large
    to be finite, integers longer than MAX_INT_DIGITS, nesting that exhausts the parser): every
    refusal is a ValueError with a message (``json.JSONDecodeError`` for malformed text)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=_parse_float)
    except RecursionError:
        raise _TooDeep(f"nests more than {MAX_DEPTH} levels deep") from None


class _TooDeep(ValueError):
    pass


def loads_workflow(text: str, name: str = "<workflow>") -> Workflow:
    """Workflow from JSON text: strict JSON (no NaN or Infinity, no integers of thousands of
    digits, no nesting deeper than MAX_DEPTH), every problem a WorkflowInvalid."""
    try:
        data = strict_json(text)
    except json.JSONDecodeError as exc:
        raise WorkflowInvalid([Problem("bad_json", f"{name} is not valid JSON: {exc.msg} "
                                                   f"(line {exc.lineno}, column {exc.colno})")]) from None
    except _BadNumber as exc:
        raise WorkflowInvalid([Problem("bad_json", f"{name}: {exc}")]) from None
    except _TooDeep as exc:
        raise WorkflowInvalid([Problem("too_deep", f"{name} {exc}")]) from None
    return parse_workflow(data)


def dumps_workflow(workflow: Workflow) -> str:
    return json.dumps(workflow.to_json(), indent=2) + "\n"
