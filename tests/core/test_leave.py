"""The ``nodegraph`` command's exit: no interpreter teardown once torch is in (nodegraph.cli.leave)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A process that ends through leave(3): an atexit handler writes a file, a module-level object
# prints from its finalizer (only an interpreter teardown runs it), stdout has buffered text.
SCRIPT = textwrap.dedent("""
    import atexit, sys, threading, time
    from pathlib import Path
    if "{torch}" == "yes":
        import torch
    from nodegraph.cli.leave import leave

    class Torn:
        def __del__(self):
            print("torn down", flush=True)

    keep = Torn()
    atexit.register(lambda: Path(sys.argv[1]).write_text("atexit ran"))
    if "{thread}" == "yes":  # a non-daemon thread still at work: an ordinary exit waits for it
        threading.Thread(target=lambda: (time.sleep(0.5), Path(sys.argv[2]).write_text("thread done"))).start()
    sys.stdout.write("buffered, no newline")
    leave(3)
""")


def end(tmp_path: Path, torch: bool = True, thread: bool = False, **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / "leave_probe.py"
    script.write_text(SCRIPT.format(torch="yes" if torch else "no", thread="yes" if thread else "no"))
    return subprocess.run([sys.executable, str(script), str(tmp_path / "atexit.txt"), str(tmp_path / "thread.txt")],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_after_torch_the_process_ends_without_teardown_but_flushed_and_with_atexit(tmp_path):
    proc = end(tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == "buffered, no newline"  # flushed; no finalizer ran
    assert (tmp_path / "atexit.txt").read_text() == "atexit ran"


@pytest.mark.parametrize("case", ["turned off", "no torch", "a thread still running"])
def test_an_ordinary_exit_otherwise(tmp_path, case):
    proc = end(tmp_path, torch=case != "no torch", thread=case == "a thread still running",
               **({"NODEGRAPH_FAST_EXIT": "0"} if case == "turned off" else {}))
    assert proc.returncode == 3
    assert proc.stdout == "buffered, no newlinetorn down\n"  # the interpreter tore down
    assert (tmp_path / "atexit.txt").read_text() == "atexit ran"
    if case == "a thread still running":
        assert (tmp_path / "thread.txt").read_text() == "thread done"


def test_the_command_ends_through_leave_and_main_does_not():
    """``nodegraph`` (the console script) and ``python -m nodegraph.cli`` end through leave;
    ``cli.main`` returns, so callers keep their process."""
    import tomllib
    from nodegraph.cli import main as cli
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["nodegraph"] == "nodegraph.cli.main:console"
    assert cli.main(["nodes", "--json"]) == cli.EXIT_OK  # still here


def test_closing_before_the_exit_skips_collections_but_loses_no_garbage():
    """cmd_run closes its session inside collections_skipped: releasing models does not walk the
    heap, and cycles that existed before are still collected afterwards."""
    import gc
    import weakref
    from nodegraph.run.gctune import collections_skipped

    class Cycle:
        pass

    b = Cycle()
    b.me = b
    before = weakref.ref(b)
    del b
    with collections_skipped():
        gc.collect()
        assert before() is not None  # what existed before the block is out of the collector's view
    gc.collect()
    assert before() is None
