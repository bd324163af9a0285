"""Provenance digests persist in the cache dir, keyed by (path, size, mtime_ns, inode)."""
import hashlib
import json
import os
import shutil

from core_helpers import cli, link, wf, write
from PIL import Image

from nodegraph.files.provenance import FileHasher
from nodegraph_nodes.basic.image import PNG_PROVENANCE_KEY


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_process_reuses_the_stored_digest_until_the_file_changes(tmp_path):
    store = tmp_path / "digests"
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(3 << 20))
    first = FileHasher(store)
    assert first.file(model) == sha(model) and first.computed == 1
    second = FileHasher(store)  # as the next CLI process would
    assert second.file(model) == sha(model) and second.computed == 0
    # Rewritten in place with the same size: a new mtime means a new hash.
    stat = model.stat()
    model.write_bytes(os.urandom(3 << 20))
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    third = FileHasher(store)
    assert third.file(model) == sha(model) and third.computed == 1
    # Replaced by another file with the same size and mtime: the inode tells them apart.
    other = tmp_path / "other.bin"
    other.write_bytes(os.urandom(3 << 20))
    stat = model.stat()
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(other, model)
    fourth = FileHasher(store)
    assert fourth.file(model) == sha(model) and fourth.computed == 1
    # Folders combine the stored file digests: nothing is read again.
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(model, folder / "a.bin")
    digest = FileHasher(store).path(folder)
    again = FileHasher(store)
    assert again.path(folder) == digest and again.computed == 0


def test_without_a_store_nothing_is_written(tmp_path):
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    hasher = FileHasher()
    assert hasher.file(model) == sha(model) and hasher.file(model) == sha(model) and hasher.computed == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin"]


def test_cli_runs_share_digests_through_the_cache_dir_even_with_no_cache(tmp_path):
    (tmp_path / "input").mkdir()
    Image.new("RGB", (8, 8), (0, 128, 255)).save(tmp_path / "input" / "blue.png")
    path = write(tmp_path / "w.json", wf(l=("LoadImage", {"image": "blue.png"}),
                                         s=("SaveImage", {"images": link("l", "image"), "prefix": "p"})))
    args = ("run", str(path), "--no-cache", "--cache-dir", str(tmp_path / "cache"),
            "--input-dir", str(tmp_path / "input"), "--events", "jsonl")
    for out in ("a", "b"):
        done = cli(*args, "--out", str(tmp_path / out))
        assert done.returncode == 0, done.stderr
        png = json.loads(done.stdout.splitlines()[-1])["outputs"][0]
        with Image.open(png) as img:
            provenance = json.loads(img.info[PNG_PROVENANCE_KEY])
        assert provenance["files"]["l.image"]["sha256"] == sha(tmp_path / "input" / "blue.png")
    stored = list((tmp_path / "cache" / "digests").iterdir())
    assert len(stored) == 1 and stored[0].read_text() == sha(tmp_path / "input" / "blue.png")


def test_a_digest_asked_for_while_another_thread_computes_it_is_read_once(tmp_path):
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(24 << 20))
    hasher = FileHasher()
    thread = hasher.prefetch([model, tmp_path / "gone.bin"])  # a missing file is skipped, not raised
    assert hasher.file(model) == sha(model)  # waits for the prefetch or computes it: never both
    thread.join(timeout=60)
    assert not thread.is_alive() and hasher.computed == 1
    assert hasher.prefetch([]) is None


def test_a_failed_read_lets_the_waiting_caller_try_itself(tmp_path, monkeypatch):
    import threading
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    hasher = FileHasher()
    real_open, entered, release = open, threading.Event(), threading.Event()

    def flaky_open(path, *args, **kwargs):
        if threading.current_thread().name == "nodegraph-digests":
            entered.set()
            release.wait(10)
            raise OSError("the disk hiccuped")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", flaky_open)
    thread = hasher.prefetch([model])
    assert entered.wait(10)
    waiter = threading.Thread(target=lambda: results.append(hasher.file(model)))
    results: list[str] = []
    waiter.start()
    release.set()
    waiter.join(10)
    thread.join(10)
    assert results == [sha(model)] and hasher.computed == 1


def test_a_job_starts_hashing_its_input_files_once_something_runs(session, env, monkeypatch):
    """Provenance digests are computed beside the job (a multi-GB model takes seconds), started
    before the output node asks for them, and not at all when every node comes from the cache."""
    import nodegraph.run.executor as executor_module
    from nodegraph.run.events import CollectingSink
    Image.new("RGB", (8, 8), (0, 128, 255)).save(env.files.input_dir / "blue.png")
    order: list[str] = []
    real = executor_module.prefetch_digests

    def recording(graph, job_env):
        order.append("prefetch")
        return real(graph, job_env)

    class Sink(CollectingSink):
        def __call__(self, event):
            if event["event"] == "executing":
                order.append(event["node"])
            super().__call__(event)

    monkeypatch.setattr(executor_module, "prefetch_digests", recording)
    workflow = wf(l=("LoadImage", {"image": "blue.png"}), s=("SaveImage", {"images": link("l", "image")}))
    assert session.run(workflow, Sink()).ok
    assert order == ["prefetch", "l", "s"]
    hasher = env.services["file_hasher"]
    assert hasher.computed == 1  # read once, by whichever thread came first
    order.clear()
    assert session.run(workflow, Sink()).ok  # all cached: nothing runs, nothing is hashed
    assert order == []
