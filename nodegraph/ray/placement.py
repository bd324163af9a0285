"""Where a node runs on Ray: the driver, a plain task, or a model worker (actor) on some node.

- Output nodes run on the driver: the files they write land where the user ran the job, and
  they see the job's graph (workflow and provenance embedded in outputs).
- Nodes that hold models, or need a GPU or a cluster-defined resource, run in a
  ``ModelWorker`` actor: per resource shape, as many per Ray node as its resources fit (one
  per GPU for a 1-GPU shape; one per node for a CPU-only one), created on first use, keeping
  models warm across jobs. A job's model nodes stick to the worker that already served their
  model chain unless that worker is busy and another feasible node is idle.
- Everything else is a plain Ray task, placed by Ray's scheduler.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ..api.node import Node, Resources
from .remote import ModelWorker

DRIVER, TASK, ACTOR = "driver", "task", "actor"


@dataclass(frozen=True)
class Placement:
    kind: str
    needs: tuple[tuple[str, float], ...] = ()  # Ray resources one run asks for (feasibility check)
    options: tuple[tuple[str, Any], ...] = ()  # .options() of the task or actor

    @property
    def shape(self) -> tuple:
        return self.needs


def node_resources(cls: type[Node], literals: dict[str, Any]) -> Resources:
    """The class's (or per-input) declaration, else its pack's ``RESOURCES``, else one CPU."""
    declared = cls.requirements(literals)
    if declared is not None:
        return declared
    parts = cls.__module__.split(".")
    for end in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:end]))
        default = getattr(module, "RESOURCES", None)
        if isinstance(default, Resources):
            return default
    return Resources()


def placement_of(cls: type[Node], literals: dict[str, Any], gpu_job: bool) -> Placement:
    if cls.output_node or cls.local_only:  # local_only: a worker could not import the class
        return Placement(DRIVER)
    res = node_resources(cls, literals)
    gpus = res.gpus if gpu_job else 0
    custom = tuple(sorted((name, float(amount)) for name, amount in res.custom if amount))
    if res.models or gpus or custom:
        # The actor holds its GPU / custom resources for its life; CPU is not reserved, so a
        # model worker never starves the plain tasks of its node.
        needs = (("GPU", float(gpus)),) if gpus else ()
        needs += ((("memory", float(res.memory)),) if res.memory else ()) + custom
        options = (("num_gpus", gpus), ("memory", res.memory or None), ("resources", dict(custom)))
        return Placement(ACTOR, tuple(sorted(needs)), options)
    needs = (("CPU", float(res.cpus)),) + ((("memory", float(res.memory)),) if res.memory else ())
    options = (("num_cpus", res.cpus), ("memory", res.memory or None))
    return Placement(TASK, needs, options)


def alive_nodes() -> dict[str, dict[str, float]]:
    """Ray node id -> total resources, for the nodes alive now."""
    return {n["NodeID"]: n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")}


def feasible_on(needs: tuple[tuple[str, float], ...], nodes: dict[str, dict[str, float]]) -> list[str]:
    return [node_id for node_id, total in nodes.items() if all(total.get(r, 0) >= a for r, a in needs)]


def worker_slots(needs: tuple[tuple[str, float], ...], nodes: dict[str, dict[str, float]]) -> list[str]:
    """Model-worker slots ("<node id>#<i>"): as many per node as its resources fit at once, so a
    machine with 8 GPUs gets up to 8 GPU workers, and a CPU-only shape one worker per node."""
    slots = []
    for node_id in feasible_on(needs, nodes):
        fits = [int(nodes[node_id].get(name, 0) // amount) for name, amount in needs if amount > 0]
        slots += [f"{node_id}#{i}" for i in range(max(1, min(fits)) if fits else 1)]
    return slots


def describe(needs: tuple[tuple[str, float], ...]) -> str:
    return ", ".join(f"{name}={amount:g}" if name != "memory" else f"memory={amount / 2**30:.1f} GiB"
                     for name, amount in needs) or "nothing"


SPILL_AFTER = 2  # nodes running or queued on a model's workers before another node loads it too


@dataclass
class ModelWorkerPool:
    """Model workers by (resource shape, worker slot), and which slots hold each model chain.

    A model node goes to a worker that already served its chain while that worker has fewer
    than ``SPILL_AFTER`` nodes running or queued; past that, an idle node is recruited (it loads
    the model once), so many jobs on one model spread while a single job stays on warm workers.
    """
    actors: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    busy: dict[tuple[tuple, str], int] = field(default_factory=dict)
    holders: dict[tuple[tuple, str], list[str]] = field(default_factory=dict)

    def pick(self, placement: Placement, token: str, nodes: dict[str, dict[str, float]],
             runtime_env: dict[str, Any]) -> tuple[Any, str]:
        shape = placement.shape
        candidates = worker_slots(shape, nodes)
        if not candidates:
            raise LookupError(describe(shape))
        load = lambda n: self.busy.get((shape, n), 0)  # noqa: E731
        holders = self.holders.setdefault((shape, token), [])
        live = [n for n in holders if n in candidates]
        under = [n for n in live if load(n) < SPILL_AFTER]
        existing = self.actors.get(shape, {})
        idle = [n for n in candidates if load(n) == 0 and n not in live]
        if under:
            chosen = min(under, key=load)
        elif idle:  # prefer a worker holding no other model, then one that exists (warm imports)
            held = {n for (shape_, _), slots in self.holders.items() if shape_ == shape for n in slots}
            chosen = min(idle, key=lambda n: (n in held, n not in existing, n))
        else:
            chosen = min(live or candidates, key=load)
        if chosen not in holders:
            holders.append(chosen)
        return self._actor(placement, chosen, runtime_env), chosen

    def _actor(self, placement: Placement, slot: str, runtime_env: dict[str, Any]) -> Any:
        per_slot = self.actors.setdefault(placement.shape, {})
        actor = per_slot.get(slot)
        if actor is None:
            options = {k: v for k, v in placement.options if v not in (None, 0, {})}
            node_id = slot.split("#")[0]
            actor = per_slot[slot] = ModelWorker.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False), runtime_env=runtime_env,
                **options).remote()
        return actor

    def started(self, placement: Placement, slot: str, delta: int) -> None:
        key = (placement.shape, slot)
        self.busy[key] = self.busy.get(key, 0) + delta

    def discard(self, placement: Placement, slot: str) -> None:
        """A worker died: the next pick makes a new one (if its node is still alive)."""
        actor = self.actors.get(placement.shape, {}).pop(slot, None)
        if actor is not None:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass

    def close(self) -> None:
        for per_slot in self.actors.values():
            for actor in per_slot.values():
                try:
                    ray.kill(actor)
                except Exception:  # noqa: BLE001 - already gone
                    pass
        self.actors.clear()
        self.busy.clear()
        self.holders.clear()
