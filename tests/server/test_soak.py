"""The soak of benchmarks/server_soak.py at test size, on real `nodegraph serve` subprocesses:
many clients lose and duplicate no job, SIGKILL mid-queue loses none and repeats none, and
the main job run again and again does not grow the server's memory."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "server_soak.py"


@pytest.fixture(scope="module")
def soak():
    spec = importlib.util.spec_from_file_location("server_soak", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_25_clients_x_4_jobs_each_done_exactly_once(soak, tmp_path):
    result = soak.load(tmp_path, clients=25, jobs=4, timeout=300)
    assert result["problems"] == [] and result["done"] == 100


def test_sigkill_mid_queue_then_restart_completes_each_job_once(soak, tmp_path):
    result = soak.kill_restart(tmp_path, jobs=12, kill_at=4, seconds=0.1, timeout=300)
    assert result["problems"] == []
    assert result["finished_once"] == 12 and result["pending_at_kill"] >= 8


@pytest.mark.slow
def test_main_job_again_and_again_keeps_the_servers_memory_flat(soak, tmp_path):
    result = soak.rss_growth(tmp_path, jobs=8, baseline=3, size=64, timeout=300)
    assert result["problems"] == [], result["rss"]
    assert result["growth"] <= 0.10
