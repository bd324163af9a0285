"""The CLI and the server run jobs through the same session API: same workflow, same events."""
from __future__ import annotations

import json
import re
from pathlib import Path

from nodegraph.cli.main import main
from serverkit import PLUGINS, Client, link, workflow

# Values, an image file, progress events: every kind of event a successful job emits.
JOB = workflow({
    "a": {"type": "Int", "inputs": {"value": 6}},
    "b": {"type": "MathInt", "inputs": {"a": link("a", "value"), "b": 7, "op": "multiply"}},
    "show": {"type": "Show", "inputs": {"value": link("b", "value")}},
    "img": {"type": "SolidImage", "inputs": {"width": 8, "height": 8}},
    "save": {"type": "SaveImage", "inputs": {"images": link("img", "image"), "prefix": "same"}},
    "sleep": {"type": "TestSleep", "inputs": {"seconds": 0.2, "value": 3}},
    "show2": {"type": "Show", "inputs": {"value": link("sleep", "value")}},
})


def _name(path: str) -> str:
    """The file name without its cache-key part (the key covers the output folder, which differs)."""
    return re.sub(r"_[0-9a-f]{10}_", "_KEY_", Path(path).name)


def _comparable(event: dict) -> dict:
    """Drop what must differ between two runs: the job id, timings, folders, the frame wrapper."""
    event = {k: v for k, v in event.items() if k not in ("type", "job", "seconds", "urls")}
    if "outputs" in event:
        event["outputs"] = [_name(p) for p in event["outputs"]]
    if "ui" in event and "images" in event["ui"]:
        event["ui"] = {**event["ui"], "images": [_name(p) for p in event["ui"]["images"]]}
    return event


def _cli_events(tmp_path: Path, capsys) -> list[dict]:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(JOB))
    folders = {name: tmp_path / "cli" / name for name in ("out", "input", "models")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    code = main(["run", str(path), "--events", "jsonl", "--quiet", "--no-cache", "--device", "cpu",
                 "--plugins", str(PLUGINS), "--out", str(folders["out"]), "--input-dir", str(folders["input"]),
                 "--models-dir", str(folders["models"])])
    assert code == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_cli_and_server_emit_the_same_events(tmp_path, capsys, client):
    cli = _cli_events(tmp_path, capsys)
    queued = client.queue(JOB)
    served = client.events(queued["job"])
    assert [e["event"] for e in cli][0] == "start" and cli[-1]["event"] == "done"
    assert {e["event"] for e in cli} >= {"start", "executing", "progress", "executed", "done"}
    assert [_comparable(e) for e in served] == [_comparable(e) for e in cli]
    assert next(e for e in cli if e.get("node") == "show" and e["event"] == "executed")["ui"] == {"text": "42"}
    assert _comparable(served[-1])["outputs"] == ["same_KEY_00.png"]
    assert {e["job"] for e in served} == {queued["job"]} and len({e["job"] for e in cli}) == 1


def test_the_server_runs_jobs_on_the_configured_executor(make_server):
    from nodegraph.run.executor import InProcessExecutor

    class Counting(InProcessExecutor):
        def __init__(self):
            self.jobs: list[str] = []

        def execute(self, job):
            self.jobs.append(job.id)
            return super().execute(job)

    executor = Counting()
    server = make_server(executor=executor)
    with Client(server.port) as client:
        queued = client.queue(JOB)
        assert client.events(queued["job"])[-1]["status"] == "success"
    assert executor.jobs == [queued["job"]]


def test_serve_cache_sizes_reach_the_session(dirs):
    """`serve --cache-memory 0` keeps nothing between jobs: the same job runs again; the default keeps it."""
    from nodegraph.cli.main import build_parser
    from nodegraph.server.app import config_from_args, start_in_thread

    def served(*options: str) -> list[int]:
        args = build_parser().parse_args([
            "serve", "--port", "0", "--data-dir", str(dirs["data"] / "-".join(options or ("default",))),
            "--out", str(dirs["output"]), "--input-dir", str(dirs["input"]), "--models-dir", str(dirs["models"]),
            "--web-dir", str(dirs["web"]), "--plugins", str(PLUGINS), "--device", "cpu", *options])
        config = config_from_args(args)
        config.cache_dir = None  # memory tier only: what it keeps is what the option allows
        handle = start_in_thread(config)
        try:
            with Client(handle.port) as client:
                small = workflow({"a": {"type": "Int", "inputs": {"value": 2}},
                                  "show": {"type": "Show", "inputs": {"value": link("a", "value")}}})
                return [client.events(client.queue(small)["job"])[-1]["cached"] for _ in range(2)]
        finally:
            handle.stop()

    assert served("--cache-memory", "0") == [0, 0]
    assert served() == [0, 2]
    assert config_from_args(build_parser().parse_args(["serve", "--cache-disk", "1.5G"])).cache_disk == 3 << 29
