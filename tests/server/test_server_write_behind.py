"""In the server, a job's output files are written while the next job runs; its done waits for them."""
from __future__ import annotations

import threading

from PIL import Image
from serverkit import add_show, link, raw_request, workflow

SAVE = workflow({"solid": {"type": "SolidImage", "inputs": {"width": 16, "height": 16, "green": 0.2}},
                 "save": {"type": "SaveImage", "inputs": {"images": link("solid", "image"), "prefix": "behind"}}})


def test_the_next_job_runs_while_the_last_ones_png_is_written(server, client, monkeypatch):
    opened = threading.Event()
    real = Image.Image.save

    def gated(self, fp, *args, **kwargs):  # encoding waits for the test, in writer threads only
        if threading.current_thread().name.startswith("nodegraph-writer"):
            assert opened.wait(20), "the gate was never opened"
        return real(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", gated)
    server.server.session.env.write_behind = True  # what a GPU server does (these tests run on the CPU)
    first = client.queue(SAVE)["job"]
    second = client.queue(add_show(2, 3))["job"]
    # The second job runs to its end while the first one's PNG is still held at the gate.
    second_events = client.events(second)
    assert second_events[-1]["status"] == "success"
    assert not any(m.get("job") == first and m.get("event") == "done" for m in client.seen)
    assert not any(m.get("job") == first and m.get("event") == "executed" and m.get("node") == "save"
                   for m in client.seen)
    opened.set()
    first_events = client.events(first)
    assert [e["event"] for e in first_events][-2:] == ["executed", "done"]
    done = first_events[-1]
    assert done["status"] == "success" and len(done["urls"]) == 1
    # A client that sees done can fetch the file, and the history has the job finished.
    status, _, body = raw_request(server.port, done["urls"][0])
    assert status == 200 and body.startswith(b"\x89PNG")
    history = client.request({"type": "history"})
    finished = {j["job"]: j["status"] for j in history["jobs"]}
    assert finished[first] == "success" and finished[second] == "success"



def test_files_are_written_behind_only_when_the_jobs_compute_on_a_gpu(tmp_path):
    from nodegraph.run.executor import InProcessExecutor
    from nodegraph.server.app import ServerConfig, write_behind

    def config(**kw):
        return ServerConfig(host="127.0.0.1", port=0, data_dir=tmp_path, output_dir=tmp_path, input_dir=tmp_path,
                            models_dir=tmp_path, **kw)

    assert write_behind(config(device="cuda")) and write_behind(config(device="auto"))
    assert write_behind(config(device="cuda", executor=InProcessExecutor()))
    assert not write_behind(config(device="cpu"))  # the encoder would take the next job's cores

    class Remote:  # a distributed executor writes where its nodes run
        def execute(self, job):
            raise AssertionError("not run here")

    assert not write_behind(config(device="cuda", executor=Remote()))


def test_a_cpu_server_writes_inside_the_job(server):
    assert server.server.session.env.write_behind is False
