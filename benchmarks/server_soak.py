"""Load and soak of `nodegraph serve`, the server's promise kept under pressure.

- load: C websocket clients queue J jobs each at once; every job is done exactly once, with
  its own result, and the history holds C*J successes, each on its first attempt.
- kill: a server killed with SIGKILL mid-queue and started again on the same data folder
  finishes every job that was pending or running, each exactly once (a ledger written by the
  node counts completions).
- rss: the main job (workflows/lcm_lora_sdxl.json, a new seed each time) N times in a row;
  resident memory after N jobs against after the first M (no growth: within 10 %).

Each part runs a real `nodegraph serve` subprocess on 127.0.0.1 and prints its figures:

    python benchmarks/server_soak.py                   # 50x10 load, kill with 40 queued, rss 20 -> 200
    python benchmarks/server_soak.py --only rss --rss-jobs 100 --rss-baseline 10 --size 128
    python benchmarks/server_soak.py --only rss --size 128 --cache-memory 0   # without the memory tier

tests/server/test_soak.py runs the same functions at a smaller size.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[1]
MAIN_JOB = REPO / "workflows" / "lcm_lora_sdxl.json"

LEDGER_PLUGIN = textwrap.dedent('''
    """Soak-only node: takes a moment (progress + interrupt points), then records its value in a
    ledger file, so a benchmark can count how often each job really completed."""
    import time
    from nodegraph import Node, Widget, node

    @node("SoakStep", category="soak", outputs={"value": "INT"}, deterministic=False)
    class SoakStep(Node):
        value: int = Widget(0)
        seconds: float = Widget(0.1, ge=0.0)
        ledger: str = Widget("")

        def run(self, ctx):
            steps = max(1, int(self.seconds / 0.02))
            for i in range(steps):
                ctx.progress(i, steps)
                time.sleep(self.seconds / steps)
            with open(self.ledger, "a", encoding="utf-8") as fh:
                fh.write(f"{self.value}\\n")
            return {"value": self.value}
''')


# --- a server subprocess and a websocket client --------------------------------------------
class Server:
    """`nodegraph serve --port 0` on a work folder; ``port``, ``pid``, ``rss()``, ``kill()``."""

    def __init__(self, work: Path, *extra: str):
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "nodegraph.cli", "serve", "--port", "0", "--device", "cpu",
               "--data-dir", str(work / "data"), "--out", str(work / "out"), "--cache-dir", str(work / "cache"),
               "--input-dir", str(work / "input"), "--models-dir", str(work / "models"), *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
               "NODEGRAPH_DEMO_DIR": os.environ.get("NODEGRAPH_DEMO_DIR") or str(work / "demo")}
        self.log = (work / "server.log").open("ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, cwd=work)
        line = self.proc.stdout.readline()
        if not line.startswith("nodegraph: serving http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}\n{(work / 'server.log').read_text()[-3000:]}")
        self.port = int(line.split(":")[-1].split("/")[0])
        self.pid = self.proc.pid

    def rss(self) -> int:
        """Resident set size in bytes (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


@contextmanager
def running(work: Path, *extra: str) -> Iterator[Server]:
    server = Server(work, *extra)
    try:
        yield server
    finally:
        server.stop()


class Client:
    """websockets' sync client: request/reply by id, and every message kept for counting."""

    def __init__(self, port: int):
        from websockets.sync.client import connect
        self.ws = connect(f"ws://127.0.0.1:{port}/ws", open_timeout=30, max_size=None,
                          compression=None).__enter__()
        self.events: list[dict] = []  # job events only (status broadcasts are not kept)
        self.done: Counter = Counter()  # job -> done events seen
        self.running: set[str] = set()  # jobs seen reporting progress
        self._n = 0

    def recv(self, timeout: float) -> dict:
        msg = json.loads(self.ws.recv(timeout=timeout))
        if msg.get("type") == "event":
            self.events.append(msg)
            if msg.get("event") == "done":
                self.done[msg["job"]] += 1
            elif msg.get("event") == "progress":
                self.running.add(msg["job"])
        return msg

    def request(self, msg: dict, timeout: float = 60.0) -> dict:
        self._n += 1
        ident = f"r{self._n}"
        self.ws.send(json.dumps({**msg, "id": ident}))
        deadline = time.monotonic() + timeout
        while True:
            reply = self.recv(max(0.01, deadline - time.monotonic()))
            if reply.get("id") == ident:
                return reply

    def until(self, done, timeout: float) -> None:
        """Read messages until ``done()`` holds (checked after each message)."""
        deadline = time.monotonic() + timeout
        while not done():
            self.recv(max(0.01, deadline - time.monotonic()))

    def close(self) -> None:
        self.ws.close()


def add_show(a: int, b: int) -> dict:
    """Built-in nodes only: Int a, MathInt a+b, Show."""
    return {"format": "nodegraph/workflow", "version": 1, "nodes": {
        "a": {"type": "Int", "inputs": {"value": a}},
        "sum": {"type": "MathInt", "inputs": {"a": {"from": "a", "output": "value"}, "b": b}},
        "show": {"type": "Show", "inputs": {"value": {"from": "sum", "output": "value"}}}}}


def history(client: Client) -> list[dict]:
    """Every job the server remembers, newest first (the protocol pages by 1,000)."""
    rows: list[dict] = []
    while True:
        page = client.request({"type": "history", "limit": 1000, **({"before": rows[-1]["seq"]} if rows else {})})["jobs"]
        rows += page
        if len(page) < 1000:
            return rows


# --- the three parts -------------------------------------------------------------------------
def load(work: Path, clients: int = 50, jobs: int = 10, timeout: float = 600.0) -> dict[str, Any]:
    """``clients`` connections queue ``jobs`` each at once; returns figures and problems."""
    results: dict[int, list[tuple[str, int, str | None]]] = {}
    errors: list[str] = []
    with running(work) as server:
        barrier = threading.Barrier(clients)

        def one(n: int) -> None:
            try:
                c = Client(server.port)
                try:
                    barrier.wait(60)
                    mine = []
                    for k in range(jobs):
                        reply = c.request({"type": "queue", "workflow": add_show(n, 1000 * k)})
                        if reply.get("type") != "queued":
                            errors.append(f"client {n} job {k}: {reply}")
                            return
                        mine.append(reply["job"])
                    c.until(lambda: all(c.done[j] for j in mine), timeout)
                    c.request({"type": "queue_state"})  # one more round trip: late duplicates come first
                    texts = {m["job"]: m["ui"]["text"] for m in c.events
                             if m.get("event") == "executed" and m.get("node") == "show"}
                    results[n] = [(j, c.done[j], texts.get(j)) for j in mine]
                finally:
                    c.close()
            except Exception as exc:  # noqa: BLE001 - reported with the figures
                errors.append(f"client {n}: {type(exc).__name__}: {exc}")

        started = time.perf_counter()
        threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout + 60)
        seconds = time.perf_counter() - started
        c = Client(server.port)
        try:
            rows = history(c)
            pending = c.request({"type": "queue_state"})["pending"]
        finally:
            c.close()
    queued = [j for out in results.values() for j, _, _ in out]
    wrong = [(n, k) for n, out in results.items() for k, (_, _, text) in enumerate(out) if text != str(n + 1000 * k)]
    dupes = [j for out in results.values() for j, count, _ in out if count != 1]
    ids = Counter(r["job"] for r in rows)
    problems = errors + [f"{len(wrong)} jobs with another job's result"] * bool(wrong) \
        + [f"{len(dupes)} jobs with more than one done event"] * bool(dupes)
    ok_rows = [r for r in rows if r["status"] == "success" and r.get("attempts", 1) == 1]
    if len(set(queued)) != clients * jobs or set(ids) != set(queued) or any(v != 1 for v in ids.values()):
        problems.append(f"queued {len(set(queued))} distinct jobs, history has {len(ids)} ({sum(ids.values())} rows)")
    if len(ok_rows) != clients * jobs or pending:
        problems.append(f"{len(ok_rows)} succeeded on the first attempt, {len(pending)} still pending")
    return {"jobs": clients * jobs, "done": len(ok_rows), "seconds": seconds,
            "jobs_per_s": clients * jobs / seconds if seconds else 0.0, "problems": problems}


def kill_restart(work: Path, jobs: int = 40, kill_at: int = 10, seconds: float = 0.1,
                 timeout: float = 600.0) -> dict[str, Any]:
    """Queue ``jobs`` ledger jobs; SIGKILL while job ``kill_at`` runs; restart; count completions."""
    plugins = work / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "soak_nodes.py").write_text(LEDGER_PLUGIN)
    ledger = work / "ledger.txt"
    ledger.write_text("")

    def step(value: int) -> dict:
        return {"format": "nodegraph/workflow", "version": 1, "nodes": {
            "step": {"type": "SoakStep", "inputs": {"value": value, "seconds": seconds, "ledger": str(ledger)}},
            "show": {"type": "Show", "inputs": {"value": {"from": "step", "output": "value"}}}}}

    server = Server(work, "--plugins", str(plugins))
    try:
        c = Client(server.port)
        queued = [c.request({"type": "queue", "workflow": step(v)})["job"] for v in range(jobs)]
        victim = queued[kill_at]
        c.until(lambda: victim in c.running, timeout)
        server.kill()
        done_before = set(c.done)
        try:
            c.close()
        except Exception:  # noqa: BLE001 - the server is gone
            pass
    except BaseException:
        server.stop()
        raise
    started = time.perf_counter()
    with running(work, "--plugins", str(plugins)) as again:
        c = Client(again.port)
        try:
            c.request({"type": "subscribe", "job": "all"})
            left = [j for j in queued if j not in done_before]

            def finished() -> bool:
                return all(r["status"] in ("success", "failed", "interrupted") for r in history(c)
                           if r["job"] in left)
            deadline = time.monotonic() + timeout
            while not finished():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            rows = {r["job"]: r for r in history(c)}
        finally:
            c.close()
    recovery = time.perf_counter() - started
    counts = Counter(int(line) for line in ledger.read_text().split())
    problems = []
    not_ok = [j for j in queued if rows.get(j, {}).get("status") != "success"]
    if not_ok:
        problems.append(f"{len(not_ok)} jobs not finished after the restart")
    twice = sorted(v for v, n in counts.items() if n != 1)
    missing = sorted(set(range(jobs)) - set(counts))
    if twice or missing:
        problems.append(f"ledger: completed more than once {twice[:10]}, never {missing[:10]}")
    if rows.get(victim, {}).get("attempts") != 2:
        problems.append(f"the job killed mid-run shows {rows.get(victim, {}).get('attempts')} attempts, not 2")
    return {"jobs": jobs, "done_before_kill": len(done_before), "pending_at_kill": len(queued) - len(done_before),
            "finished_once": sum(1 for v in range(jobs) if counts[v] == 1), "recovery_s": recovery,
            "problems": problems}


def rss_growth(work: Path, jobs: int = 200, baseline: int = 20, size: int = 256,
               timeout: float = 600.0, cache_memory: str | None = None) -> dict[str, Any]:
    """The main job ``jobs`` times in a row, a new seed each time; RSS after ``baseline`` and at the end.

    Every new seed adds its outputs to the server's memory tier, so RSS grows by design until
    ``--cache-memory`` is reached; ``cache_memory="0"`` measures the server without that tier."""
    data = json.loads(MAIN_JOB.read_text())
    sampler = next(n for n in data["nodes"].values() if n["type"] == "LCMSampler")
    sampler["inputs"].update(width=size, height=size)
    samples: dict[int, int] = {}
    started = time.perf_counter()
    extra = ("--cache-memory", cache_memory) if cache_memory is not None else ()
    with running(work, *extra) as server:
        c = Client(server.port)
        try:
            for k in range(1, jobs + 1):
                sampler["inputs"]["seed"] = k
                job = c.request({"type": "queue", "workflow": data})["job"]
                c.until(lambda: c.done[job] > 0, timeout)
                status = next(m for m in c.events if m.get("event") == "done" and m.get("job") == job)["status"]
                if status != "success":
                    raise RuntimeError(f"job {k} ended {status}: {(work / 'server.log').read_text()[-2000:]}")
                c.events.clear()  # the client's own memory stays flat too
                if k == baseline or k == jobs or k % max(1, jobs // 10) == 0:
                    samples[k] = server.rss()
        finally:
            c.close()
    seconds = time.perf_counter() - started
    growth = samples[jobs] / samples[baseline] - 1.0
    problems = [] if growth <= 0.10 else [f"RSS grew {growth:+.1%} from job {baseline} to job {jobs}"]
    return {"jobs": jobs, "baseline": baseline, "rss": samples, "growth": growth, "seconds": seconds,
            "problems": problems}


# --- the command line -----------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["load", "kill", "rss"], action="append",
                        help="run only this part (repeatable; default all three)")
    parser.add_argument("--clients", type=int, default=50, help="load: websocket clients")
    parser.add_argument("--jobs", type=int, default=10, help="load: jobs per client")
    parser.add_argument("--kill-jobs", type=int, default=40, help="kill: jobs queued before the kill")
    parser.add_argument("--rss-jobs", type=int, default=200, help="rss: main jobs in a row")
    parser.add_argument("--rss-baseline", type=int, default=20, help="rss: the job whose RSS is the reference")
    parser.add_argument("--size", type=int, default=256, help="rss: image width and height")
    parser.add_argument("--cache-memory", default=None, metavar="SIZE",
                        help="rss: the server's memory tier (e.g. 0; default: the server's default, 4G)")
    args = parser.parse_args(argv)
    parts = args.only or ["load", "kill", "rss"]
    failed = False
    with tempfile.TemporaryDirectory(prefix="nodegraph-soak-") as tmp:
        root = Path(tmp)
        if "load" in parts:
            r = load(root / "load", args.clients, args.jobs)
            print(f"load   {args.clients} clients x {args.jobs} jobs: {r['done']}/{r['jobs']} done once each, "
                  f"{r['seconds']:.1f} s ({r['jobs_per_s']:.0f} jobs/s)", flush=True)
            failed |= report(r)
        if "kill" in parts:
            r = kill_restart(root / "kill", args.kill_jobs)
            print(f"kill   SIGKILL with {r['pending_at_kill']} of {r['jobs']} jobs pending or running: after the "
                  f"restart {r['finished_once']}/{r['jobs']} completed exactly once, {r['recovery_s']:.1f} s", flush=True)
            failed |= report(r)
        if "rss" in parts:
            r = rss_growth(root / "rss", args.rss_jobs, args.rss_baseline, args.size,
                           cache_memory=args.cache_memory)
            mib = {k: v / (1 << 20) for k, v in r["rss"].items()}
            tier = f", memory tier {args.cache_memory}" if args.cache_memory is not None else ""
            print(f"rss    main job x {r['jobs']} at {args.size}px{tier}: {mib[r['baseline']]:.0f} MiB after "
                  f"{r['baseline']}, {mib[r['jobs']]:.0f} MiB after {r['jobs']} ({r['growth']:+.1%}; limit +10%), "
                  f"{r['seconds']:.0f} s", flush=True)
            print("       " + "  ".join(f"{k}:{v:.0f}" for k, v in sorted(mib.items())))
            failed |= report(r)
    return 1 if failed else 0


def report(result: dict) -> bool:
    for problem in result["problems"]:
        print(f"       PROBLEM: {problem}")
    return bool(result["problems"])


if __name__ == "__main__":
    sys.exit(main())
