"""Validation: every problem at once, each naming node id and input.

Validation also *normalises*: each node's literal inputs are coerced by their declared types
(``1`` for a float becomes ``1.0``) and omitted widget inputs get their defaults. That one dict
(``GraphNode.literals``) is what the cache key, every hook (``check_inputs``, ``fingerprint``,
``is_deterministic``, ``resolve_file``) and the node instance see (docs/node-authoring.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..api.errors import Problem, WorkflowInvalid
from ..api.node import InputSpec, normalise_literal, takes_node_id, widget_defaults
from ..api.registry import Registry
from ..files.roots import PathEscape, demo_name
from .graph import Graph, GraphNode
from .order import children_of, cycle_through, generations, strongly_connected
from .workflow import Link, Workflow


def validate(workflow: Workflow, registry: Registry, env: Any = None) -> list[Problem]:
    """All problems of ``workflow``; empty when it can run."""
    return _build(workflow, registry, env)[1]


def build_graph(workflow: Workflow, registry: Registry, env: Any = None) -> Graph:
    """The resolved graph, or WorkflowInvalid with every problem."""
    graph, problems = _build(workflow, registry, env)
    if problems:
        raise WorkflowInvalid(problems)
    return graph


def _build(workflow: Workflow, registry: Registry, env: Any) -> tuple[Graph, list[Problem]]:
    problems: list[Problem] = []
    graph = Graph(workflow, registry=registry)
    if env is not None:
        env.use_catalogue(registry)  # where the pack-declared file kinds live, which demos exist
    for node_id, entry in workflow.nodes.items():
        cls = registry.get(entry.type)
        if cls is None:
            hint = _suggest(entry.type, registry.nodes)
            if not hint and registry.failures:
                hint = f" (plugins that failed to load: {', '.join(sorted({f.plugin for f in registry.failures}))})"
            problems.append(Problem("unknown_type", f"unknown node type {entry.type!r}{hint}", node_id))
            continue
        literals: dict[str, Any] = dict(widget_defaults(cls))
        links: dict[str, Link] = {}
        found_before = len(problems)  # problems from here on are this node's
        for name, value in entry.inputs.items():
            spec = cls.inputs.get(name)
            if spec is None:
                problems.append(Problem("unknown_input", f"{entry.type} has no input {name!r}"
                                                         f"{_suggest(name, cls.inputs)}", node_id, name))
            elif isinstance(value, Link):
                links[name] = value
                literals.pop(name, None)  # a linked input has no literal, not even its default
            else:
                normalised, problem = _check_literal(node_id, spec, value, env, registry)
                if problem:
                    problems.append(problem)
                else:
                    literals[name] = normalised
        for name, spec in cls.inputs.items():
            if spec.required and name not in entry.inputs:
                what = f"a link from a {spec.socket} output" if spec.widget is None else "a value or a link"
                problems.append(Problem("missing_input", f"required input is missing: it needs {what}", node_id, name))
        # Node-specific checks only make sense once the literals themselves are fine.
        if len(problems) == found_before:
            found = (cls.check_inputs(literals, env, node_id=node_id) if takes_node_id(cls.check_inputs)
                     else cls.check_inputs(literals, env))
            for input_name, message in found:
                problems.append(Problem("bad_value", message, node_id, input_name))
        graph.nodes[node_id] = GraphNode(node_id, cls, literals, links)

    for node_id, gnode in graph.nodes.items():
        for name, link in gnode.links.items():
            problems.extend(_check_link(node_id, name, link, gnode, workflow, registry))

    problems.extend(_check_cycles(workflow))
    for gnode in graph.nodes.values():  # lazy inputs the literals leave unread: their sources need not run
        for name in gnode.cls.unneeded_links(gnode.literals) & gnode.links.keys():
            del gnode.links[name]
    if graph.nodes and not any(g.cls.output_node for g in graph.nodes.values()):
        problems.append(Problem("no_output", "the workflow has no output node (e.g. SaveImage), so nothing would run"))
    elif not workflow.nodes:
        problems.append(Problem("no_output", "the workflow has no nodes"))
    return graph, problems


def _check_literal(node_id: str, spec: InputSpec, value: Any, env: Any,
                   registry: Registry) -> tuple[Any, Problem | None]:
    """(the value coerced by the input's declared type, None) or (None, the problem)."""
    if spec.widget is None:
        return None, Problem("needs_link", f"takes a link from a {spec.socket} output, not a literal value",
                             node_id, spec.name)
    try:
        normalised = normalise_literal(spec, value)
    except ValidationError as exc:
        return None, Problem("bad_value", f"{_describe_value_error(spec, value, exc)}", node_id, spec.name)
    if spec.widget == "file" and demo_name(normalised) is not None:
        return normalised, _check_demo(node_id, spec, normalised, registry)
    if spec.widget == "file" and env is not None and normalised:
        has_demos = any(d.kind == spec.file_kind for d in registry.demos.values())
        return normalised, _check_file(node_id, spec, normalised, env, has_demos)
    return normalised, None


def _check_demo(node_id: str, spec: InputSpec, value: str, registry: Registry) -> Problem | None:
    asset = registry.demos.get(demo_name(value))
    if asset is not None and asset.kind == spec.file_kind:
        return None
    known = sorted(d.value for d in registry.demos.values() if d.kind == spec.file_kind)
    return Problem("bad_value", f"unknown demo {value!r}; known {spec.file_kind} demos: "
                                f"{', '.join(known) or 'none'}", node_id, spec.name)


def _describe_value_error(spec: InputSpec, value: Any, exc: ValidationError) -> str:
    shown = repr(value) if len(repr(value)) < 80 else repr(value)[:77] + "..."
    if spec.widget == "enum":
        return f"{shown} is not one of {', '.join(repr(o) for o in spec.options)}"
    err = exc.errors()[0]
    kind = err["type"]
    if kind in ("greater_than_equal", "less_than_equal"):  # Widget(ge=, le=): the bounds the spec shows
        bounds = f"[{spec.minimum if spec.minimum is not None else '-inf'}, " \
                 f"{spec.maximum if spec.maximum is not None else 'inf'}]"
        return f"{shown} is out of bounds {bounds}"
    expected = _EXPECTED.get(spec.widget)
    if expected and kind.endswith("_type"):  # strict validation: a value of another type
        return f"{shown} is not {expected}"
    # JSON inputs (lists, tuples, dicts): pydantic's reason, and where inside the value it applies.
    where = f" (at {''.join(f'[{part!r}]' for part in err['loc'])})" if err["loc"] else ""
    return f"{shown}: {err['msg']}{where}"


_EXPECTED = {"int": "an integer", "float": "a number", "string": "a string", "bool": "true or false",
             "file": "a file name"}


def _check_file(node_id: str, spec: InputSpec, value: str, env: Any, has_demos: bool = False) -> Problem | None:
    if any(value.startswith(s) for s in spec.schemes):
        return None
    try:
        path = env.files.resolve(spec.file_kind, value)
    except PathEscape as exc:
        return Problem("bad_path", str(exc), node_id, spec.name)
    if path is None:
        if spec.allow_hub_id and _looks_like_hub_id(value):
            return None
        if Path(value).expanduser().is_absolute():  # looked up only where it points, not in the folders
            return Problem("missing_file", f"{spec.file_kind} file {value!r} not found (an absolute path is looked "
                                           f"up only where it points)", node_id, spec.name)
        roots = ", ".join(str(r) for r in env.files.roots(spec.file_kind))
        hint = ""
        if has_demos and env.files.locations.get(spec.file_kind, "models") == "models":
            hint = "; --demo-models runs on the demo models instead"
        return Problem("missing_file", f"{spec.file_kind} file {value!r} not found (looked in {roots}){hint}",
                       node_id, spec.name)
    if spec.extensions and path.is_file() and path.suffix.lower() not in spec.extensions:
        wanted = "/".join(spec.extensions)
        if path.suffix.lower() in PICKLE_SUFFIXES:
            return Problem("bad_file", f"{value!r} is a pickle-based file ({path.suffix}); loading pickle can run "
                           f"arbitrary code, so only {wanted} files are accepted here. Convert it once with a "
                           "trusted tool (e.g. safetensors' convert script) and use that file.", node_id, spec.name)
        return Problem("bad_file", f"{value!r} is not a {wanted} file", node_id, spec.name)
    return None


# Weights in these formats are Python pickles: never loaded, and the refusal says why.
PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"})


def _looks_like_hub_id(value: str) -> bool:
    parts = value.split("/")
    return len(parts) == 2 and all(parts) and not value.startswith((".", "/"))


def _check_link(node_id: str, name: str, link: Link, gnode: GraphNode, workflow: Workflow,
                registry: Registry) -> list[Problem]:
    source = workflow.nodes.get(link.node)
    if source is None:
        return [Problem("bad_link", f"links to node {link.node!r}, which does not exist", node_id, name)]
    source_cls = registry.get(source.type)
    if source_cls is None:
        return []  # already reported as an unknown type
    output = source_cls.outputs.get(link.output)
    if output is None:
        have = ", ".join(source_cls.outputs) or "none"
        return [Problem("bad_link", f"links to output {link.output!r} of node {link.node!r} ({source.type}), "
                                    f"which has no such output (outputs: {have})", node_id, name)]
    target = gnode.cls.inputs[name].socket
    if not registry.types.compatible(output.type, target):
        return [Problem("type_mismatch", f"expects {target} but {link.node!r}.{link.output} is {output.type}",
                        node_id, name)]
    return []


def _check_cycles(workflow: Workflow) -> list[Problem]:
    """One problem per group of nodes that feed each other, with one cycle through it."""
    children = children_of(workflow.nodes, ((value.node, node_id) for node_id, entry in workflow.nodes.items()
                                            for value in entry.inputs.values() if isinstance(value, Link)))
    try:
        generations(children)  # Kahn's order: half the time of finding components, and enough
        return []              # to show that there is no cycle
    except ValueError:
        pass
    problems = []
    for component in strongly_connected(children):
        start = component[-1]  # the first of the group that the search reached
        if len(component) == 1 and start not in children[start]:
            continue  # one node, no self-link: no cycle
        path = cycle_through(children, start, set(component))
        problems.append(Problem("cycle", "cycle: " + " -> ".join(path), start))
    return problems


def _suggest(name: str, known) -> str:
    import difflib
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
