"""Parameter sweeps planned as ONE graph (docs/sweeps.md).

A sweep names inputs and the values each takes; its cells are the combinations (crossed, or
paired with ``zip``). Every cell is validated as its own workflow (a bad value names its cell),
then the cells' graphs are merged: a node whose type, literals and upstream nodes are the same
in several cells becomes one node of the combined graph, so it runs once for all of them —
nodes upstream of every swept input once per sweep, a LoRA merge once per strength. The plan
orders the combined graph cell by cell, so an interrupted sweep leaves whole cells finished, and
runs the cells grouped by the values of the most upstream axes first (``run_order``): cells that
share a LoRA merge run one after another, so a warm model switches its merged weights once per
strength, whatever order the axes were given in.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..api.errors import Problem, UsageError, WorkflowInvalid
from ..api.registry import Registry
from .graph import Graph, GraphNode
from .overrides import parse_value
from .order import children_of, generations
from .plan import Plan
from .workflow import Link, Sweep, SweepAxis, Workflow, parse_workflow

MAX_CELLS = 10_000  # a typo in a range (0:1e6:1) should be an error, not a day of work
RANGE_MAX_VALUES = 1_000


@dataclass(frozen=True)
class Cell:
    index: int
    values: tuple[tuple[str, Any], ...]  # ("node.input", value) per axis, in axis order

    @property
    def label(self) -> str:
        return ", ".join(f"{name}={show_value(value)}" for name, value in self.values)


@dataclass
class SweepPlan:
    """What a sweep runs: its cells, each cell's own workflow and graph, the combined graph."""
    sweep: Sweep
    base: Workflow  # the workflow without its sweep
    cells: list[Cell]
    cell_workflows: list[Workflow]
    cell_graphs: list[Graph]
    graph: Graph  # the combined graph: one node per distinct (type, literals, upstream)
    plan: Plan
    members: list[dict[str, str]]  # per cell: its node id -> the combined node id
    id: str = ""  # stable per (workflow, sweep): re-running a sweep finds its own index
    outputs: list[list[str]] = field(default_factory=list)  # per cell: combined ids of its output nodes
    run_order: list[int] = field(default_factory=list)  # cell indexes in the order the plan runs them

    @property
    def axis_names(self) -> list[str]:
        return [axis_name(a) for a in self.sweep.axes]


def axis_name(axis: SweepAxis) -> str:
    return f"{axis.node}.{axis.input}"


def show_value(value: Any) -> str:
    """A swept value as labels print it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


# -- the command line's --sweep ---------------------------------------------------------------

def parse_sweep_args(workflow: Workflow, items: list[str], zip_axes: bool, registry: Registry) -> Sweep:
    """``--sweep NODE.INPUT=V1,V2,...`` (or ``a:b:step`` for numbers), each value typed as
    ``--set`` types it. A usage error names the item and what is wrong."""
    axes = []
    for item in items:
        target, sep, text = item.partition("=")
        node_id, dot, input_name = target.rpartition(".")
        if not sep or not dot or not node_id or not input_name:
            raise UsageError(f"--sweep {item!r}: expected NODE.INPUT=V1,V2,... or NODE.INPUT=FROM:TO:STEP")
        widget = _widget(workflow, node_id, input_name, registry, f"--sweep {item!r}")
        try:
            values = _parse_values(widget, text)
        except ValueError as exc:
            raise UsageError(f"--sweep {item!r}: {exc} (for {node_id}.{input_name}, a {widget})") from None
        axes.append(SweepAxis(node=node_id, input=input_name, values=values))
    if not axes:
        raise UsageError("--zip needs --sweep")
    return Sweep(axes=axes, zip=zip_axes)


def _widget(workflow: Workflow, node_id: str, input_name: str, registry: Registry, where: str) -> str | None:
    entry = workflow.nodes.get(node_id)
    if entry is None:
        raise UsageError(f"{where}: no node {node_id!r} in the workflow")
    cls = registry.get(entry.type)
    if cls is None:
        raise UsageError(f"{where}: node {node_id!r} has unknown type {entry.type!r}")
    spec = cls.inputs.get(input_name)
    if spec is None:
        raise UsageError(f"{where}: {entry.type} has no input {input_name!r} (inputs: {', '.join(cls.inputs)})")
    if spec.widget is None:
        raise UsageError(f"{where}: input {input_name!r} takes a link, not a value")
    return spec.widget


def _parse_values(widget: str | None, text: str) -> list[Any]:
    if widget in ("int", "float") and text.count(":") == 2 and "," not in text:
        return _range(widget, *text.split(":"))
    if widget == "json":  # a JSON value holds commas: the list is one JSON array of values
        values = parse_value("json", text)
        if not isinstance(values, list) or not values:
            raise ValueError("a swept json input takes a JSON array of values")
        return values
    parts = text.split(",")
    if any(p == "" for p in parts) and widget in ("int", "float", "bool"):
        raise ValueError("an empty value in the list")
    return [parse_value(widget, p) for p in parts]


def _range(widget: str, start_text: str, stop_text: str, step_text: str) -> list[Any]:
    """``a:b:step``, both ends included (as people read "0.2:0.8:0.2"); floats rounded to 10
    decimals so 0.1 steps do not print as 0.30000000000000004."""
    start, stop, step = (parse_value(widget, t) for t in (start_text, stop_text, step_text))
    if step == 0 or (stop - start) / step < 0:
        raise ValueError(f"step {step_text} never goes from {start_text} to {stop_text}")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > RANGE_MAX_VALUES:
        raise ValueError(f"the range has {count} values (at most {RANGE_MAX_VALUES})")
    if widget == "int":
        return [start + i * step for i in range(count)]
    return [round(start + i * step, 10) for i in range(count)]


# -- planning -----------------------------------------------------------------------------------

def cells_of(sweep: Sweep) -> list[Cell]:
    names = [axis_name(a) for a in sweep.axes]
    if sweep.zip:
        lengths = {len(a.values) for a in sweep.axes}
        if len(lengths) > 1:
            sizes = ", ".join(f"{n} has {len(a.values)}" for n, a in zip(names, sweep.axes))
            raise WorkflowInvalid([Problem("bad_sweep", f"zipped sweep axes need as many values each ({sizes})")])
        combos = list(zip(*(a.values for a in sweep.axes)))
    else:
        total = math.prod(len(a.values) for a in sweep.axes)
        if total > MAX_CELLS:
            raise WorkflowInvalid([Problem("bad_sweep", f"the sweep has {total} cells (at most {MAX_CELLS})")])
        combos = list(itertools.product(*(a.values for a in sweep.axes)))
    return [Cell(i, tuple(zip(names, combo))) for i, combo in enumerate(combos)]


def cell_workflow(base: Workflow, cell: Cell) -> Workflow:
    """The cell's own workflow: the base with the cell's values in place, no sweep. What its
    outputs embed, so one cell re-runs alone."""
    data = base.to_json()
    data.pop("sweep", None)
    for name, value in cell.values:
        node_id, _, input_name = name.rpartition(".")
        data["nodes"][node_id]["inputs"][input_name] = value
    return parse_workflow(data)


def check_axes(sweep: Sweep, base: Workflow, registry: Registry) -> list[Problem]:
    problems, seen = [], set()
    for axis in sweep.axes:
        name = axis_name(axis)
        if name in seen:
            problems.append(Problem("bad_sweep", f"{name} is swept twice", axis.node, axis.input))
        seen.add(name)
        try:
            _widget(base, axis.node, axis.input, registry, f"sweep of {name}")
        except UsageError as exc:
            problems.append(Problem("bad_sweep", str(exc), axis.node if axis.node in base.nodes else None,
                                    axis.input))
    return problems


def cell_problems(per_cell: list[list[Problem]], cells: list[Cell]) -> list[Problem]:
    """Problems every cell has are reported once; the others name their cell."""
    if not per_cell:
        return []
    common = set.intersection(*(set(p) for p in per_cell))
    out = [p for p in per_cell[0] if p in common]
    for cell, problems in zip(cells, per_cell):
        for p in problems:
            if p not in common:
                out.append(Problem(p.code, f"cell {cell.index + 1} ({cell.label}): {p.message}", p.node, p.input))
    return out


def run_order(cells: list[Cell], sweep: Sweep, graph: Graph) -> list[int]:
    """The order the cells run in: sorted by the values of the axes nearest the graph's sources
    first (an axis on a LoRA merge before one on the sampler it feeds), each value ranked by
    where it first appears on its axis. Crossed axes given upstream-first keep their order; the
    other way round, the cells of one merge strength still run together, so the model's merged
    weights switch once per strength instead of once per cell."""
    depth = {node_id: d for d, level in enumerate(generations(children_of(graph.nodes, graph.edges())))
             for node_id in level}
    axes = sorted(range(len(sweep.axes)), key=lambda i: (depth.get(sweep.axes[i].node, 0), i))
    rank = [{json.dumps(v, sort_keys=True, default=repr): r for r, v in reversed(list(enumerate(a.values)))}
            for a in sweep.axes]

    def key(cell: Cell) -> tuple:
        return tuple(rank[i][json.dumps(cell.values[i][1], sort_keys=True, default=repr)] for i in axes)
    return [c.index for c in sorted(cells, key=key)]  # sorted() is stable: ties keep cell order


def combine(cells: list[Cell], graphs: list[Graph], plans: list[Plan], sweep: Sweep,
            order_of_cells: list[int] | None = None) -> tuple[Graph, Plan, list[dict[str, str]]]:
    """Merge the cells' graphs: equal (type, version, literals, upstream) -> one node.

    Combined ids: the node's own id where it is shared by every cell, else the id with the
    values of the axes that reach it (``merge[style_strength=0.5]``), so progress and errors
    name the cell. The plan runs whole cells, in ``order_of_cells`` (cell indexes; default:
    as given); ``members`` is indexed by cell index.
    """
    short = _short_axis_names(sweep)
    by_signature: dict[str, str] = {}
    combined = Graph(graphs[0].workflow)
    members: list[dict[str, str]] = [{} for _ in cells]
    sharers: dict[str, int] = {}
    order: list[str] = []
    for index in (order_of_cells if order_of_cells is not None else range(len(cells))):
        cell, graph, plan = cells[index], graphs[index], plans[index]
        mine = members[index]
        signatures: dict[str, str] = {}
        reached: dict[str, set[int]] = {}
        for node_id in (n for level in generations(children_of(graph.nodes, graph.edges())) for n in level):
            gnode = graph.nodes[node_id]
            reached[node_id] = set().union(*(reached[l.node] for l in gnode.links.values())) if gnode.links else set()
            reached[node_id] |= {i for i, a in enumerate(sweep.axes) if a.node == node_id}
            sig = signatures[node_id] = _signature(gnode, signatures)
            cid = by_signature.get(sig)
            if cid is None:
                cid = node_id if not reached[node_id] else (
                    f"{node_id}[" + ",".join(f"{short[i]}={show_value(cell.values[i][1])}"
                                            for i in sorted(reached[node_id])) + "]")
                while cid in combined.nodes:  # equal labels, different inputs (1 and 1.0 as strings...)
                    cid += "'"
                by_signature[sig] = cid
                combined.nodes[cid] = GraphNode(cid, gnode.cls, gnode.literals,
                                                {n: Link(node=mine[l.node], output=l.output)
                                                 for n, l in gnode.links.items()})
            mine[node_id] = cid
        for node_id in plan.order:  # cell by cell: each cell's own order is topological
            cid = mine[node_id]
            sharers[cid] = sharers.get(cid, 0) + 1
            if sharers[cid] == 1:
                order.append(cid)
    children = children_of(order, combined.edges())
    combined.nodes = {cid: combined.nodes[cid] for cid in order}
    levels = tuple(generations(children))
    return combined, Plan(tuple(order), levels, {n: len(kids) for n, kids in children.items()}, children), members


def _signature(gnode: GraphNode, signatures: dict[str, str]) -> str:
    """What makes two nodes the same computation before anything runs: the parts of the
    executor's Merkle key that do not need files or the environment."""
    upstream = sorted((name, signatures[link.node], link.output) for name, link in gnode.links.items())
    text = json.dumps([gnode.cls.node_type, gnode.cls.version, gnode.literals, upstream],
                      sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _short_axis_names(sweep: Sweep) -> list[str]:
    inputs = [a.input for a in sweep.axes]
    return [a.input if inputs.count(a.input) == 1 else axis_name(a) for a in sweep.axes]


def sweep_id(base: Workflow, sweep: Sweep) -> str:
    data = base.to_json()
    data.pop("ui", None)  # moving nodes on the canvas is the same sweep
    for entry in data["nodes"].values():
        entry.pop("ui", None)
    data.pop("sweep", None)
    text = json.dumps([data, sweep.to_json()], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def plan_sweep(workflow: Workflow, registry: Registry, env: Any = None) -> SweepPlan:
    """Validate every cell (WorkflowInvalid with every problem, naming cells) and plan the
    combined graph. ``workflow.sweep`` must be set."""
    from .bypass import apply_modes, merge_problems
    from .plan import make_plan
    from .validate import build_graph

    sweep = workflow.sweep
    base = workflow.model_copy(update={"sweep": None})
    problems = check_axes(sweep, base, registry)
    if problems:
        raise WorkflowInvalid(problems)
    cells = cells_of(sweep)
    cell_workflows = [cell_workflow(base, cell) for cell in cells]
    graphs: list[Graph] = []
    per_cell: list[list[Problem]] = []
    for cell_wf in cell_workflows:
        runnable, mode_problems = apply_modes(cell_wf, registry)
        try:
            graph = build_graph(runnable, registry, env)
            per_cell.append(list(mode_problems))
        except WorkflowInvalid as exc:
            per_cell.append(merge_problems(mode_problems, exc.problems))
            graph = None
        if graph is not None:
            graph.workflow = cell_wf  # what its outputs embed: the cell's file, modes included
        graphs.append(graph)
    if any(per_cell):
        raise WorkflowInvalid(cell_problems(per_cell, cells))
    plans = [make_plan(g) for g in graphs]
    order_of_cells = run_order(cells, sweep, graphs[0])
    combined, plan, members = combine(cells, graphs, plans, sweep, order_of_cells)
    combined.workflow = workflow
    for graph, mine in zip(graphs, members):
        for node_id in graph.nodes:
            combined.origins.setdefault(mine[node_id], graph)
    outputs = [[mine[n] for n in p.order if graph.nodes[n].cls.output_node]
               for graph, p, mine in zip(graphs, plans, members)]
    return SweepPlan(sweep, base, cells, cell_workflows, graphs, combined, plan, members,
                     sweep_id(base, sweep), outputs, order_of_cells)
