"""``--executor ray`` from the command line; Ray stays optional and on loopback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ray_helpers import PLUGIN_DIR, wf

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = ("127.0.0.1", "::ffff:127.0.0.1", "::1")


def listeners(pid: int) -> list[tuple[str, str, int]]:
    """(process name, address, port) of every TCP socket listening in ``pid`` and its descendants."""
    import ray  # noqa: F401  (puts Ray's bundled psutil on the path)
    import psutil
    found = []
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for proc in procs:
        try:
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    found.append((proc.name(), conn.laddr.ip, conn.laddr.port))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def test_test_cluster_listens_on_loopback_only(cluster):
    found = listeners(os.getpid())
    assert any("raylet" in name or "gcs" in name for name, _, _ in found)
    assert [entry for entry in found if entry[1] not in LOOPBACK] == []


def test_cli_executor_ray_starts_a_local_ray_on_loopback_and_stops_it(tmp_path):
    path = tmp_path / "wide.json"
    graph = {f"w{i}": ("RayWork", {"value": i, "delay": 2.0}) for i in range(2)}
    graph["sum"] = ("MathInt", {"a": "@w0.value", "b": "@w1.value"})
    graph["show"] = ("Show", {"value": "@sum.value"})
    path.write_text(json.dumps(wf(**graph)))
    # Nothing of the test cluster leaks in; the CLI itself keeps its Ray on loopback.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="disabled", HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "nodegraph.cli", "run", str(path), "--executor", "ray",
                                 "--events", "jsonl", "--no-cache", "--plugins", str(PLUGIN_DIR), "--out",
                                 str(tmp_path / "out")], cwd=tmp_path, env=env, stdout=stdout, stderr=stderr)
        seen: set[tuple[str, str, int]] = set()
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline:
            seen.update(listeners(proc.pid))
            time.sleep(0.3)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
    stdout, stderr = out.read_text(), err.read_text()
    assert proc.returncode == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines()]  # stdout holds events only
    done = events[-1]
    assert done["event"] == "done" and done["status"] == "success" and done["executed"] == 4
    assert next(e for e in events if e["event"] == "executed" and e["node"] == "show")["ui"]["text"] == "2"
    assert any(e.get("ray_node") for e in events if e["event"] == "executed")
    assert any("raylet" in name for name, _, _ in seen), seen  # Ray was up while the job ran ...
    assert [entry for entry in seen if entry[1] not in LOOPBACK] == []  # ... on loopback only
    assert listeners(proc.pid) == []  # and the process tree is gone


def test_executor_ray_without_ray_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    from nodegraph.cli import main as cli
    path = tmp_path / "one.json"
    path.write_text(json.dumps(wf(a=("Int", {"value": 1}), s=("Show", {"value": "@a.value"}))))
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    monkeypatch.delitem(sys.modules, "nodegraph.ray.executor", raising=False)
    code = cli.main(["run", str(path), "--executor", "ray", "--no-cache", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "nodegraph: error: --executor ray needs ray: pip install 'nodegraph[ray]'"


def test_core_and_cli_do_not_import_ray():
    code = ("import sys, nodegraph, nodegraph.cli.main, nodegraph.run.session, nodegraph.run.executor, nodegraph.server.app; "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("argv", [["--address", "auto"]])
def test_address_without_ray_executor_is_a_usage_error(tmp_path, capsys, argv):
    from nodegraph.cli import main as cli
    path = tmp_path / "one.json"
    path.write_text(json.dumps(wf(a=("Int", {"value": 1}), s=("Show", {"value": "@a.value"}))))
    assert cli.main(["run", str(path), *argv, "--no-cache", "--out", str(tmp_path / "out")]) == 2
    assert "--address needs --executor ray" in capsys.readouterr().err
