"""`nodegraph run --server URL`: a real server process, the CLI as its client."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from serverkit import PLUGINS, Client, link, sleeper, workflow

TOKEN = "s3cret-token"


@pytest.fixture
def remote(dirs, tmp_path):
    """A `nodegraph serve` process with a token; yields its URL as the server prints it."""
    log = tmp_path / "server.log"
    cmd = [sys.executable, "-m", "nodegraph.cli", "serve", "--port", "0", "--token", TOKEN,
           "--data-dir", str(dirs["data"]), "--cache-dir", str(tmp_path / "server-cache"),
           "--out", str(dirs["output"]), "--input-dir", str(dirs["input"]), "--models-dir", str(dirs["models"]),
           "--web-dir", str(dirs["web"]), "--plugins", str(PLUGINS), "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log.open("ab"), text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline()
    assert line.startswith("nodegraph: serving http://127.0.0.1:"), (line, log.read_text())
    yield line.split()[-1]  # http://127.0.0.1:PORT/#token=...
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nodegraph.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def resize_job(image: str) -> dict:
    return workflow({"load": {"type": "LoadImage", "inputs": {"image": image}},
                     "resize": {"type": "ResizeImage", "inputs": {"image": link("load", "image"),
                                                                  "width": 8, "height": 6}},
                     "save": {"type": "SaveImage", "inputs": {"images": link("resize", "image"), "prefix": "r"}}})


def test_remote_run_uploads_applies_set_streams_events_and_copies_outputs(remote, dirs, tmp_path):
    client_side = tmp_path / "client"
    client_side.mkdir()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(client_side / "leaf.png")
    path = client_side / "job.json"
    path.write_text(json.dumps(resize_job(str(client_side / "leaf.png"))))
    out = cli("run", str(path), "--server", remote, "--set", "resize.width=12", "--out", "got",
              "--events", "jsonl", cwd=client_side)
    assert out.returncode == 0, out.stderr
    seen = events(out.stdout)
    # The same events a local run prints, outputs named by their local copies.
    local = cli("run", str(path), "--set", "resize.width=12", "--out", "local", "--events", "jsonl",
                "--no-cache", "--plugins", str(PLUGINS), cwd=client_side)
    assert local.returncode == 0, local.stderr
    shape = [(e["event"], e.get("node")) for e in seen if e["event"] != "progress"]
    assert shape == [(e["event"], e.get("node")) for e in events(local.stdout) if e["event"] != "progress"]
    assert all("urls" not in e and "type" not in e for e in seen)
    executed = {e["node"]: e for e in seen if e["event"] == "executed"}
    assert all(isinstance(e["seconds"], float) for e in executed.values())
    (png,) = seen[-1]["outputs"]
    (local_png,) = events(local.stdout)[-1]["outputs"]
    assert png == f"got/{Path(png).name}" and local_png == f"local/{Path(local_png).name}"  # named alike
    assert executed["save"]["outputs"] == [png]
    with Image.open(client_side / png) as img:
        assert img.size == (12, 6) and img.getpixel((3, 3)) == (10, 200, 30)
    assert "success: 3 executed, 0 cached" in out.stderr and f"wrote {png}" in out.stderr
    # The client's file went up to the server's input folder.
    assert [p.name for p in dirs["input"].iterdir()] == ["leaf.png"]
    # A second run with another --set is served partly from the server's warm cache.
    again = cli("run", str(path), "--server", remote, "--set", "resize.height=9", "--out", "got",
                "--events", "jsonl", cwd=client_side)
    assert again.returncode == 0, again.stderr
    assert [e["node"] for e in events(again.stdout) if e["event"] == "cached"] == ["load"]


def test_ctrl_c_interrupts_the_remote_job_and_exits_130(remote, dirs, tmp_path):
    path = tmp_path / "sleep.json"
    path.write_text(json.dumps(sleeper(60, 1)))
    proc = subprocess.Popen([sys.executable, "-m", "nodegraph.cli", "run", str(path), "--server", remote,
                             "--events", "jsonl", "--out", str(tmp_path / "o")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    seen = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] == "progress":
            break
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    final = events(rest)
    assert any(e["event"] == "interrupted" and e["node"] == "sleep" for e in final)
    assert final[-1]["event"] == "done" and final[-1]["status"] == "interrupted"
    port = int(remote.split(":")[2].split("/")[0])
    with Client(port, token=TOKEN) as c:
        (job,) = c.request({"type": "history"})["jobs"]
        assert job["status"] == "interrupted"


def test_failures_give_a_local_runs_exit_codes(remote, dirs, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(workflow({"x": {"type": "NoSuchNode", "inputs": {}}})))
    out = cli("run", str(bad), "--server", remote, "--events", "jsonl", cwd=tmp_path)
    assert out.returncode == 2 and "NoSuchNode" in out.stderr
    failing = tmp_path / "missing.json"
    failing.write_text(json.dumps(resize_job("not-there.png")))
    out = cli("run", str(failing), "--server", remote, cwd=tmp_path)
    assert out.returncode == 2 and "not-there.png" in out.stderr
    (dirs["input"] / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)  # fails when read
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(resize_job("broken.png")))
    out = cli("run", str(broken), "--server", remote, "--events", "jsonl", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "error: node 'load' (LoadImage)" in out.stderr and events(out.stdout)[-1]["status"] == "failed"
    no_token = remote.split("#")[0]
    out = cli("run", str(bad), "--server", no_token, cwd=tmp_path)
    assert out.returncode == 2 and "401" in out.stderr and "--token" in out.stderr
    out = cli("run", str(bad), "--server", "http://127.0.0.1:9/", cwd=tmp_path)
    assert out.returncode == 2 and "cannot connect" in out.stderr
