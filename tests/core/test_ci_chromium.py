""".ci/chromium.sh (run by .ci/run): which Chromium the browser tests get, and that Debian's is
installed only when no usable one is found. Run against stand-in binaries on a PATH of their
own; the stand-in apt-get records its calls and "installs" a working chromium."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "chromium.sh"


def executable(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def run(bin_dir: Path, **env) -> subprocess.CompletedProcess:
    for tool in ("timeout", "id", "env", "chmod"):
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(shutil.which(tool))
    return subprocess.run([shutil.which("bash"), str(SCRIPT)], capture_output=True, text=True, timeout=120,
                          env={"PATH": str(bin_dir), **env})


def fake_apt(bin_dir: Path, log: Path) -> None:
    working = bin_dir / "chromium"
    executable(bin_dir / "apt-get", f'echo "apt-get $*" >> {log}\n'
                                    f'case "$*" in *install*) printf \'#!/bin/sh\\necho Chromium 1\\n\' > {working}; '
                                    f'chmod 755 {working};; esac')
    executable(bin_dir / "sudo", 'exec "$@"')


def test_the_named_binary_is_used_and_nothing_installed(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "apt.log"
    bin_dir.mkdir()
    fake_apt(bin_dir, log)
    other = executable(tmp_path / "my-chrome", "echo Chromium 2")
    out = run(bin_dir, NODEGRAPH_CHROMIUM=str(other))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(other) and not log.exists()


def test_a_named_binary_that_does_not_start_is_an_error_not_an_install(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "apt.log"
    bin_dir.mkdir()
    fake_apt(bin_dir, log)
    executable(bin_dir / "chromium", "echo Chromium 1")  # a working one on PATH is not taken instead
    broken = executable(tmp_path / "broken-chrome", "exit 3")
    out = run(bin_dir, NODEGRAPH_CHROMIUM=str(broken))
    assert out.returncode == 1 and f"NODEGRAPH_CHROMIUM={broken} does not start" in out.stderr
    assert out.stdout == "" and not log.exists()


def test_one_on_the_path_is_used_and_nothing_installed(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "apt.log"
    bin_dir.mkdir()
    fake_apt(bin_dir, log)
    executable(bin_dir / "chromium-browser", "echo Chromium 1")
    out = run(bin_dir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(bin_dir / "chromium-browser") and not log.exists()


def test_debians_is_installed_only_when_none_starts(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "apt.log"
    bin_dir.mkdir()
    fake_apt(bin_dir, log)
    executable(bin_dir / "chromium", "exit 1")  # present but broken: not usable
    out = run(bin_dir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(bin_dir / "chromium")
    calls = log.read_text().splitlines()
    assert calls[0] == "apt-get update -q" and calls[-1].endswith("install -y -q chromium")
    assert "installing Debian's chromium" in out.stderr
    assert os.access(bin_dir / "chromium", os.X_OK)
