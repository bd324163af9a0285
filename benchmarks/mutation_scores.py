"""Mutation score per module, from the results of the last `mutmut run` (see docs/testing.md).

Score = mutants the tests detected (killed, or timed out) over all mutants of the module; a
module with mutants not yet checked says so, because its score is not final.

    mutmut run --max-children 2 && python benchmarks/mutation_scores.py
    python benchmarks/mutation_scores.py --list survived   # and name the survivors
"""
from __future__ import annotations

import argparse
import subprocess
from collections import Counter, defaultdict

DETECTED = ("killed", "timeout")


def module_of(mutant: str) -> str:
    # nodegraph.cache.x_cache_key__mutmut_3, nodegraph.server.web.xǁHttpGateǁprocess_request__mutmut_9
    return mutant.split(".xǁ")[0] if ".xǁ" in mutant else mutant.split(".x_")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", nargs="*", default=(), metavar="STATUS",
                        help="also list the mutants with these statuses (e.g. survived 'no tests')")
    args = parser.parse_args()
    out = subprocess.run(["mutmut", "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    statuses: dict[str, Counter] = defaultdict(Counter)
    listed: dict[str, list[str]] = defaultdict(list)
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if not sep:
            continue
        statuses[module_of(name)][status] += 1
        if status in args.list:
            listed[module_of(name)].append(f"{status}: {name}")
    print(f"{'module':28} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} {'no tests':>8} "
          f"{'unchecked':>9} {'score':>6}")
    for module, count in sorted(statuses.items()):
        total = sum(count.values())
        score = 100 * sum(count[s] for s in DETECTED) / total
        print(f"{module:28} {total:7} {count['killed']:6} {count['timeout']:7} {count['survived']:8} "
              f"{count['no tests']:8} {count['not checked']:9} {score:5.1f}%")
        for item in listed[module]:
            print(f"    {item}")


if __name__ == "__main__":
    main()
