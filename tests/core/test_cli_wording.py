"""What the command line says is what happened: an interrupted --no-cache run kept nothing, a
cached output node wrote nothing, and an absolute model path is looked up only where it points."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

from core_helpers import cli, link, wf, write


def interrupted_stderr(tmp_path, plugin_dir, *cache_args) -> str:
    path = write(tmp_path / "w.json", wf(a=("Counter", {"value": 5}), x=("Slow", {"value": link("a"), "steps": 400,
                                                                                "delay": 0.05}),
                                         s=("Show", {"value": link("x")})))
    proc = subprocess.Popen([sys.executable, "-m", "nodegraph.cli", "run", str(path), "--plugins", str(plugin_dir),
                             "--events", "jsonl", *cache_args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # the slow node is running
        if json.loads(line)["event"] == "progress":
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    return err


def test_an_interrupted_run_says_what_it_kept(tmp_path, plugin_dir):
    off = interrupted_stderr(tmp_path, plugin_dir, "--no-cache")
    assert "interrupted at node 'x'; nothing was cached (--no-cache): a re-run starts over" in off
    assert "stay cached" not in off
    on = interrupted_stderr(tmp_path, plugin_dir, "--cache-dir", str(tmp_path / "cache"))
    assert "interrupted at node 'x'; finished nodes stay cached" in on


def test_a_cached_output_says_cached_not_wrote(tmp_path):
    path = write(tmp_path / "w.json", wf(c=("SolidImage", {"width": 8, "height": 8}),
                                         o=("SaveImage", {"images": link("c", "image"), "prefix": "solid"})))
    args = ("run", str(path), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"))
    first, second = cli(*args), cli(*args)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    (png,) = (tmp_path / "out").glob("solid_*.png")
    assert f"  wrote {png}" in first.stderr.splitlines()
    assert "success: 0 executed, 2 cached" in second.stderr
    assert f"  cached {png} (not rewritten)" in second.stderr.splitlines() and "wrote" not in second.stderr
    changed = cli(*args, "--set", "c.width=16")  # a new image: written again
    assert any(line.startswith("  wrote ") for line in changed.stderr.splitlines())


def test_a_missing_absolute_path_names_only_where_it_points(tmp_path):
    missing = tmp_path / "elsewhere" / "model.safetensors"
    path = write(tmp_path / "w.json", wf(m=("LoadSDXL", {"checkpoint": str(missing)}),
                                         s=("SaveCheckpoint", {"model": link("m", "model")})))
    out = cli("validate", str(path), "--models-dir", str(tmp_path / "models"))
    assert out.returncode == 2
    assert f"checkpoint file {str(missing)!r} not found (an absolute path is looked up only where it points)" \
        in out.stdout
    assert "looked in" not in out.stdout
    relative = write(tmp_path / "r.json", wf(m=("LoadSDXL", {"checkpoint": "model.safetensors"}),
                                             s=("SaveCheckpoint", {"model": link("m", "model")})))
    out = cli("validate", str(relative), "--models-dir", str(tmp_path / "models"))
    assert out.returncode == 2 and "looked in " in out.stdout and str(tmp_path / "models") in out.stdout
