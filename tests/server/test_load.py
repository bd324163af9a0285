"""Load: 20 websocket clients x 5 jobs each, all complete, none lost."""
from __future__ import annotations

import threading
import time

from serverkit import Client, add_show

CLIENTS, JOBS = 20, 5


def test_20_clients_5_jobs_each(server):
    results: dict[int, list[tuple[str, str, str]]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(CLIENTS)

    def one(n: int) -> None:
        try:
            with Client(server.port) as c:
                barrier.wait(10)
                jobs = []
                for k in range(JOBS):
                    reply = c.queue(add_show(n, 1000 * k), client_ref=f"{n}-{k}")
                    assert reply["type"] == "queued", reply
                    jobs.append(reply["job"])
                out = []
                for k, job in enumerate(jobs):
                    events = c.events(job, timeout=60)
                    show = [e for e in events if e["event"] == "executed" and e["node"] == "show"]
                    out.append((job, events[-1]["status"], show[0]["ui"]["text"] if show else None))
                results[n] = out
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    seconds = time.perf_counter() - started
    assert not errors, errors[:3]
    assert len(results) == CLIENTS
    for n, out in results.items():
        assert [status for _, status, _ in out] == ["success"] * JOBS
        assert [text for _, _, text in out] == [str(n + 1000 * k) for k in range(JOBS)]
    job_ids = {job for out in results.values() for job, _, _ in out}
    assert len(job_ids) == CLIENTS * JOBS
    with Client(server.port) as c:
        history = c.request({"type": "history", "limit": 1000})["jobs"]
        assert {j["job"] for j in history} == job_ids and all(j["status"] == "success" for j in history)
        assert c.request({"type": "queue_state"}) ["pending"] == []
        # FIFO: one worker ran them in queue order
        by_seq = sorted(history, key=lambda j: j["seq"])
        assert all(a["finished"] <= b["started"] for a, b in zip(by_seq, by_seq[1:]))
    print(f"\nload: {CLIENTS} clients x {JOBS} jobs in {seconds:.2f}s")
