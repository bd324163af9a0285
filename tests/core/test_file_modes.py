"""Files users get have normal permissions: 0666 less the umask (0644 typically), not 0600."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from core_helpers import link, wf, write
from nodegraph.files.roots import atomic_write, current_umask


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_respects_the_umask(tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        assert current_umask() == umask
        atomic_write(tmp_path / "out.json", "{}")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "out.json") == expected


def test_a_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "dataset.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    atomic_write(target, "new\n")
    assert target.read_text() == "new\n" and mode(target) == 0o640


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640)])
def test_cli_run_writes_cache_files_with_the_users_umask(tmp_path, plugin_dir, umask, expected):
    path = write(tmp_path / "w.json", wf(a=("Counter", {"value": 3}), s=("Show", {"value": link("a")})))
    cache = tmp_path / "cache"
    out = subprocess.run([sys.executable, "-m", "nodegraph.cli", "run", str(path), "--plugins", str(plugin_dir),
                          "--cache-dir", str(cache), "--quiet"], capture_output=True, text=True, timeout=120,
                         preexec_fn=lambda: os.umask(umask))
    assert out.returncode == 0, out.stderr
    written = [p for p in cache.rglob("*") if p.is_file()]
    assert written and {p.name: mode(p) for p in written} == {p.name: expected for p in written}
