"""The queue survives: kill -9 of a server process, and a clean stop, lose no job or history."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


from serverkit import PLUGINS, Client, add_show, sleeper


def _spawn(dirs, log: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, "-m", "nodegraph.cli", "serve", "--port", "0", "--data-dir", str(dirs["data"]),
           "--cache-dir", str(log.parent / "cache"), *extra,
           "--out", str(dirs["output"]), "--input-dir", str(dirs["input"]), "--models-dir", str(dirs["models"]),
           "--web-dir", str(dirs["web"]), "--plugins", str(PLUGINS), "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log.open("ab"), text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline()
    assert line.startswith("nodegraph: serving http://127.0.0.1:"), (line, log.read_text())
    url = proc.url = line.split()[-1]
    return proc, int(url.split(":")[2].split("/")[0])


def _history(client: Client) -> dict[str, dict]:
    return {j["job"]: j for j in client.request({"type": "history"})["jobs"]}


def test_restart_after_kill_9_resumes_pending_jobs_and_keeps_history(dirs, tmp_path):
    log = tmp_path / "server.log"
    proc, port = _spawn(dirs, log)
    try:
        with Client(port) as c:
            done = c.queue(add_show(1, 1))
            assert c.events(done["job"])[-1]["status"] == "success"
            running = c.queue(sleeper(0.6, 5))
            pending = c.queue(add_show(2, 2))
            c.wait(lambda m: m.get("event") == "progress" and m.get("job") == running["job"])
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    proc, port = _spawn(dirs, log)
    try:
        with Client(port) as c:
            deadline = time.monotonic() + 180  # a hang guard, not a speed target
            while True:
                history = _history(c)
                if all(history[j["job"]]["status"] == "success" for j in (running, pending)):
                    break
                assert time.monotonic() < deadline, history
                time.sleep(0.05)
            assert history[done["job"]]["status"] == "success"  # history kept
            assert history[done["job"]]["ui"] == {"show": {"text": "2"}}
            again = history[running["job"]]
            assert again["attempts"] == 2 and again["ui"] == {"show": {"text": "5"}}
            # the re-queued job kept its place: it ran before the job queued after it
            assert again["finished"] <= history[pending["job"]]["started"]
            assert history[pending["job"]]["attempts"] == 1
            assert c.request({"type": "queue_state"})["pending"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


def test_clean_stop_requeues_the_running_job(make_server, dirs):
    first = make_server()
    with Client(first.port) as c:
        running = c.queue(sleeper(30, 9))
        pending = c.queue(add_show(3, 3))
        c.wait(lambda m: m.get("event") == "progress")
    first.stop()
    # It stopped mid-job, not after the 30 s job ended: the job is still queued below (a stop that
    # waited for it would have recorded it as finished).
    second = make_server()
    with Client(second.port) as c:
        state = c.request({"type": "queue_state"})
        assert [state["running"], *state["pending"]][:2] in ([running["job"], pending["job"]],
                                                            [None, running["job"]])
        c.request({"type": "subscribe", "job": "all"})
        c.wait(lambda m: m.get("event") == "progress" and m.get("job") == running["job"])
        assert c.request({"type": "interrupt", "job": running["job"]})["job"] == running["job"]
        c.wait(lambda m: m.get("event") == "done" and m.get("job") == pending["job"])
        history = _history(c)
        assert history[running["job"]]["status"] == "interrupted" and history[running["job"]]["attempts"] == 2
        assert history[pending["job"]]["status"] == "success"


def test_cli_prints_the_canvas_url_with_the_token_fragment(dirs, tmp_path):
    proc, port = _spawn(dirs, tmp_path / "server.log", "--token", "abc123")
    assert proc.url == f"http://127.0.0.1:{port}/#token=abc123"
    try:
        with Client(port, token="abc123") as c:
            assert c.request({"type": "hello"})["token_required"] is True
        assert (dirs["data"] / "jobs.sqlite3").exists() and (tmp_path / "cache").is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
