"""A lean environment: a virtualenv that sees only nodegraph and what it depends on.

A cold `nodegraph run` pays for every module its libraries import, and some imports depend on
what else is installed: transformers imports scikit-learn, scipy and torchvision when they are
there (its generation utilities, losses and CLIP image processor ask for them). A machine image
with everything in it starts slower than the environment a user gets from `pip install
nodegraph` into a fresh virtualenv. This builds the latter from the current environment without
downloading anything: a new virtualenv whose site-packages links (symlinks) the top-level files
and folders of each distribution in nodegraph's dependency closure (its requirements,
recursively, extras left out), nothing else.

    python benchmarks/lean_env.py /tmp/lean          # prints the interpreter to use
    python benchmarks/cold_start.py --python /tmp/lean/bin/python ...

Folders shared by several distributions (the nvidia/ namespace of the CUDA wheels) are linked
whole, so their other members come along; that only errs on the side of more.
"""
from __future__ import annotations

import argparse
import importlib.metadata as metadata
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement


def closure(root: str = "nodegraph") -> dict[str, metadata.Distribution]:
    """The installed distributions ``root`` needs at run time, by normalised name."""
    found: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-").replace(".", "-")
        if key in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional platform package that is not installed here
        found[key] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def top_level_entries(dist: metadata.Distribution) -> set[Path]:
    """The absolute top-level files and folders of ``dist`` inside its site-packages."""
    base = Path(dist.locate_file("")).resolve()
    entries = set()
    for file in dist.files or []:
        parts = Path(file).parts
        if not parts or parts[0] == ".." or parts[0].startswith("__pycache__"):
            continue  # scripts in bin/ and bytecode are not part of what imports see
        entries.add(base / parts[0])
    return entries


def build(target: Path, root: str = "nodegraph") -> Path:
    """Make the lean virtualenv at ``target``; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    python = target / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    dists = closure(root)
    linked = 0
    for dist in dists.values():
        for entry in sorted(top_level_entries(dist)):
            link = site / entry.name
            if entry.exists() and not link.exists():
                link.symlink_to(entry)
                linked += 1
    sources = sorted({str(Path(d.locate_file("")).resolve()) for d in dists.values()})
    print(f"lean environment at {target}: {len(dists)} distributions ({linked} links) from {', '.join(sources)}",
          file=sys.stderr)
    return python


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, help="the new virtualenv's folder (must not exist)")
    args = parser.parse_args(argv)
    if args.target.exists():
        sys.exit(f"{args.target} exists: give a new folder")
    print(build(args.target))


if __name__ == "__main__":
    main()
