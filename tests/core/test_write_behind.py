"""Output files written on writer threads: whole or not at all, and (in a server) behind the job."""
from __future__ import annotations

import threading

import pytest
from core_helpers import link, wf
from PIL import Image

from nodegraph.files.writer import OutputWriter
from nodegraph.run.events import CollectingSink

SAVE = wf(solid=("SolidImage", {"width": 16, "height": 16, "red": 0.9}),
          save=("SaveImage", {"images": link("solid", "image"), "prefix": "behind"}))


@pytest.fixture
def gate(monkeypatch):
    """PNG encoding waits until the test opens the gate (in writer threads only)."""
    opened = threading.Event()
    real = Image.Image.save

    def gated(self, fp, *args, **kwargs):
        if threading.current_thread().name.startswith("nodegraph-writer"):
            assert opened.wait(20), "the gate was never opened"
        return real(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", gated)
    return opened


def test_a_file_appears_whole_or_not_at_all_and_writes_of_one_path_keep_their_order(tmp_path):
    writer = OutputWriter(threads=4)
    target = tmp_path / "out.txt"
    futures = [writer.submit(target, lambda tmp, i=i: tmp.write_text(f"version {i}")) for i in range(6)]
    for future in futures:
        future.result(timeout=20)
    assert target.read_text() == "version 5"

    def broken(tmp):
        tmp.write_text("half")
        raise ValueError("encoder gave up")

    with pytest.raises(OSError, match="cannot write .*broken.txt.*encoder gave up"):
        writer.submit(tmp_path / "broken.txt", broken).result(timeout=20)
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no half file, no temporary


def test_behind_the_job_done_waits_for_the_files_and_the_events_keep_their_order(session, env, gate):
    env.write_behind = True
    sink = CollectingSink()
    job = session.prepare(SAVE, sink=sink)
    job.finish_later = True
    result = session.execute(job)
    # The job has run; its PNG is still being encoded: nothing claims it exists yet.
    assert result.finish is not None
    assert [e["event"] for e in sink.events] == ["start", "executing", "executed", "executing"]
    (png,) = result.outputs
    assert not (env.output_dir / png).exists()
    gate.set()
    result.finish()
    assert [e["event"] for e in sink.events][-2:] == ["executed", "done"]
    assert sink.events[-2]["node"] == "save" and sink.events[-1]["outputs"] == [png] and result.ok
    with Image.open(png) as img:
        assert img.size == (16, 16) and img.getpixel((0, 0))[0] == 230
    assert not [p for p in env.output_dir.iterdir() if p.suffix == ".part"]


def test_a_run_that_does_not_finish_later_waits_itself(session, env, gate):
    env.write_behind = True
    seen_at_done = []

    class Sink(CollectingSink):
        def __call__(self, event):
            if event["event"] == "done":
                seen_at_done.extend((env.output_dir / p).exists() for p in event["outputs"])
            super().__call__(event)

    gate.set()
    result = session.run(SAVE, Sink())
    assert result.ok and result.finish is None and seen_at_done == [True]


def test_a_file_that_cannot_be_written_fails_the_job_naming_the_node(session, env, monkeypatch):
    env.write_behind = True
    real = Image.Image.save

    def full_disk(self, fp, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    sink = CollectingSink()
    job = session.prepare(SAVE, sink=sink)
    job.finish_later = True
    result = session.execute(job)
    result.finish()
    (error,) = sink.of("error")
    assert error["node"] == "save" and "No space left on device" in error["message"] and "behind_" in error["message"]
    assert result.status == "failed" and sink.events[-1]["status"] == "failed" and sink.events[-1]["outputs"] == []
    assert not list(env.output_dir.iterdir())
    # The failed output is not served from the cache: the next run writes it.
    monkeypatch.setattr(Image.Image, "save", real)
    again = session.run(SAVE, CollectingSink())
    assert again.ok and again.executed == ["save"] and (env.output_dir / again.outputs[0]).exists()


def test_in_a_node_a_write_error_is_the_nodes_error(session, env, monkeypatch):
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: (_ for _ in ()).throw(OSError("read-only")))
    sink = CollectingSink()
    result = session.run(SAVE, sink)
    (error,) = sink.of("error")
    assert result.status == "failed" and error["node"] == "save" and "read-only" in error["message"]
