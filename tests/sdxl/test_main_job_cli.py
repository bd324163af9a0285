"""The main job through the real CLI, as a user runs it on a fresh checkout."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from nodegraph_nodes.basic.image import read_png_workflow

from .conftest import MAIN_JOB


# The CLI, then a line on stderr naming the heavy libraries the process imported (torch._dynamo:
# the real one, not nodegraph's stand-in).
REPORTING_CLI = ("import sys\nfrom nodegraph.cli.main import main\nrc = main(sys.argv[1:])\n"
                 "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'peft') if m in sys.modules]\n"
                 "heavy += ['torch._dynamo'] if 'torch._dynamo.eval_frame' in sys.modules else []\n"
                 "sys.stderr.write('IMPORTED ' + ','.join(heavy) + '\\n')\nsys.exit(rc)\n")


def nodegraph(*args, env, cwd):
    return subprocess.run([sys.executable, "-c", REPORTING_CLI, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def imported(stderr: str) -> list[str]:
    line = [x for x in stderr.splitlines() if x.startswith("IMPORTED ")][-1]
    return [m for m in line[len("IMPORTED "):].split(",") if m]


def done_event(stdout: str) -> dict:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")][-1]


def test_main_job_fresh_then_cached_and_byte_identical(tmp_path, demo_dir):
    # The demo models built already (as on a user's second run), so the first process imports
    # diffusers in EncodePrompt, where a library's warnings would land between progress lines.
    env = {**os.environ, "NODEGRAPH_DEMO_DIR": str(demo_dir), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(MAIN_JOB.parents[1])}
    common = ["--events", "jsonl", "--device", "cpu"]
    first = nodegraph("run", str(MAIN_JOB), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "a"),
                      *common, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr  # wall time vs the 60 s target: benchmarks/main_job.py
    done = done_event(first.stdout)
    assert done["executed"] == 6 and len(done["outputs"]) == 1

    second = nodegraph("run", str(MAIN_JOB), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "a"),
                       *common, env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    again = done_event(second.stdout)
    # Everything with a result on disk is served from cache; the two handle nodes are
    # memory-only and rebuild in microseconds without loading any weights.
    # An unchanged re-run in a new process executes nothing: model handles are small data and
    # persist like any value, and nothing that is only passed through is decoded.
    assert again["cached"] == 6 and again["executed"] == 0 and again["outputs"] == done["outputs"]
    assert imported(second.stderr) == [] and "torch" in imported(first.stderr)
    assert "torch._dynamo" not in imported(first.stderr)  # nothing compiled: the compiler never imported
    # stderr is nodegraph's own: progress, summary, the files (no library chatter in between).
    # A step line (``      sampler: 2/4``) appears only when a node takes long enough between
    # lines, which depends on the machine's speed: allowed, never required.
    ours = re.compile(r"\[\d+/\d+\] |success: |  wrote |IMPORTED |      \w+: [\d.]+/[\d.]+$")
    assert [line for line in first.stderr.splitlines() if not ours.match(line)] == []
    # Changing the seed runs the sampler and what follows, on the handles served from disk.
    seeded = nodegraph("run", str(MAIN_JOB), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "a"),
                       "--set", "sampler.seed=7", *common, env=env, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    events = [json.loads(line) for line in seeded.stdout.splitlines() if line.startswith("{")]
    assert [e["node"] for e in events if e["event"] == "executed"] == ["sampler", "decode", "save"]
    assert done_event(seeded.stdout)["outputs"] != done["outputs"]

    third = nodegraph("run", str(MAIN_JOB), "--no-cache", "--out", str(tmp_path / "b"), *common,
                      env={**env, "NODEGRAPH_DEFER_DYNAMO": "0"}, cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert "torch._dynamo" in imported(third.stderr)  # and the same bytes with it imported up front
    (png_a,), (png_b,) = done["outputs"], done_event(third.stdout)["outputs"]
    assert open(png_a, "rb").read() == open(png_b, "rb").read()
    embedded = read_png_workflow(png_a)
    assert embedded["nodes"]["merge"]["type"] == "MergeAcceleration"
