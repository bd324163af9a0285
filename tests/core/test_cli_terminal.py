"""The command line as a terminal user meets it: device errors up front, quiet pipes, plain
progress lines in logs, shown text printed, help for every option, an informative catalogue."""
from __future__ import annotations

import argparse
import io
import subprocess
import sys

import pytest

from core_helpers import cli, link, wf, write
from nodegraph.cli.main import build_parser
from nodegraph.cli.progress import PLAIN_INTERVAL, HumanProgress


def _cuda_usable() -> bool:
    import torch
    return torch.cuda.is_available()


@pytest.mark.skipif(_cuda_usable(), reason="this machine has CUDA: nothing to refuse")
@pytest.mark.parametrize("command", ["run", "serve"])
def test_device_cuda_without_cuda_is_one_line_and_exit_2_before_anything_runs(tmp_path, plugin_dir, command):
    path = write(tmp_path / "w.json", wf(a=("Counter", {"value": 1}), s=("Show", {"value": link("a")})))
    args = (["run", str(path), "--events", "jsonl", "--out", str(tmp_path / "out")] if command == "run"
            else ["serve", "--port", "0", "--data-dir", str(tmp_path / "data")])
    out = cli(*args, "--device", "cuda", "--plugins", str(plugin_dir), cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nodegraph: error: --device cuda: ") and "--device cpu" in lines[0]
    assert "Traceback" not in out.stderr and out.stdout == ""  # no event: nothing started
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()


def test_auto_says_which_device_it_chose_once_torch_was_needed(tmp_path, plugin_dir):
    tensor = write(tmp_path / "t.json", wf(r=("RandomTensor", {}), s=("Show", {"value": link("r", "latent")})))
    out = cli("run", str(tensor), "--no-cache", "--plugins", str(plugin_dir))
    assert out.returncode == 0, out.stderr
    expected = "device: cuda" if _cuda_usable() else "device: cpu (auto: "
    assert expected in out.stderr
    plain = write(tmp_path / "p.json", wf(a=("Counter", {"value": 1}), s=("Show", {"value": link("a")})))
    out = cli("run", str(plain), "--no-cache", "--plugins", str(plugin_dir))
    assert out.returncode == 0 and "device:" not in out.stderr  # no torch, no device to speak of


@pytest.mark.parametrize("args", [["nodes"], ["nodes", "--json"], ["schema"]])
def test_a_reader_that_stops_early_gets_no_traceback(args):
    script = (f"{sys.executable} -m nodegraph.cli {' '.join(args)} 2>err.txt | head -c 10 >/dev/null; "
              "echo ${PIPESTATUS[0]}; cat err.txt")
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                         env={"PYTHONUNBUFFERED": "1", "PATH": "/usr/bin:/bin", "HOME": "/tmp",
                              "HF_HUB_OFFLINE": "1"}, cwd="/tmp")
    code, *err = out.stdout.splitlines()
    assert code == "0" and err == []


def test_run_piped_into_head_still_finishes(tmp_path, plugin_dir):
    path = write(tmp_path / "w.json", wf(a=("Counter", {"value": 7}), s=("Show", {"value": link("a")})))
    script = (f"{sys.executable} -m nodegraph.cli run {path} --events jsonl --no-cache --plugins {plugin_dir} "
              "2>err.txt | head -n 1 >first.txt; echo ${PIPESTATUS[0]}")
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={"PYTHONUNBUFFERED": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                              "HF_HUB_OFFLINE": "1"})
    assert out.stdout.strip() == "0"
    assert '"event": "start"' in (tmp_path / "first.txt").read_text()
    err = (tmp_path / "err.txt").read_text()
    assert "Traceback" not in err and "BrokenPipe" not in err and "success: 2 executed" in err


def test_plain_progress_lines_when_stderr_is_not_a_terminal():
    now = [0.0]
    stream = io.StringIO()
    progress = HumanProgress(stream, clock=lambda: now[0])
    progress({"event": "start", "nodes": ["a", "b"]})
    progress({"event": "cached", "node": "a"})
    progress({"event": "executing", "node": "b"})
    for step in range(1, 25):  # one step every 0.5 s for 12 s
        now[0] = step * 0.5
        progress({"event": "progress", "node": "b", "value": step, "max": 24})
    progress({"event": "executed", "node": "b", "seconds": 12.0, "ui": {"text": "first line\nsecond line"}})
    progress({"event": "done", "status": "success", "executed": 1, "cached": 1, "seconds": 12.1, "outputs": []})
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[1/2] a cached"
    steps = [line.strip() for line in lines if line.startswith("      b:")]
    assert steps == [f"b: {int(k / 0.5)}/24" for k in (PLAIN_INTERVAL, 2 * PLAIN_INTERVAL)]  # not 24 lines
    assert "[2/2] b done in 12.00 s" in lines
    shown = lines.index("b:")
    assert lines[shown:shown + 3] == ["b:", "  first line", "  second line"]
    assert lines[-1] == "success: 1 executed, 1 cached, 12.10 s"


def test_show_text_is_printed_in_human_mode(tmp_path, plugin_dir):
    path = write(tmp_path / "w.json", wf(a=("Counter", {"value": 41}), s=("Show", {"value": link("a")})))
    out = cli("run", str(path), "--no-cache", "--plugins", str(plugin_dir))
    assert out.returncode == 0 and "s: 41" in out.stderr.splitlines()
    out = cli("run", str(path), "--no-cache", "--plugins", str(plugin_dir), "--set", "a.value=42")
    assert "s: 42" in out.stderr.splitlines() and "[2/2] s done" in out.stderr
    for quiet in ("--quiet", "-q"):
        out = cli("run", str(path), "--no-cache", "--plugins", str(plugin_dir), quiet)
        assert out.returncode == 0 and out.stderr == ""


def test_every_option_of_every_command_has_help_text():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [f"{name} {action.dest}" for name, command in sub.choices.items() for action in command._actions
               if not isinstance(action, argparse._HelpAction) and not action.help]
    assert missing == []


def test_nodes_shows_defaults_and_optional_inputs(plugin_dir):
    out = cli("nodes", "--plugins", str(plugin_dir))
    assert out.returncode == 0
    lines = [line.strip() for line in out.stdout.splitlines()]
    assert "Slow([value:INT], steps:INT=50, delay:FLOAT=0.05) -> value:INT" in lines
    assert "ScaleTensor(latent:LATENT, factor:FLOAT=2.0) -> latent:LATENT" in lines
    sampler = next(line for line in lines if line.startswith("LCMSampler("))
    assert "model:MODEL, conditioning:CONDITIONING" in sampler and "steps:INT=4" in sampler
    merge = next(line for line in lines if line.startswith("MergeAcceleration("))
    assert "[style_lora:STRING]" in merge and 'acceleration_lora:STRING="demo:tiny-sdxl-lcm-lora"' in merge
