"""Ctrl-C latency of `nodegraph run workflows/svd_camera_motion.json --no-cache`, per phase.

One fresh CLI process per row: its events (``--events jsonl``) are watched, SIGINT is sent when
the row's moment comes, and the time from the signal to the process's exit is printed, with the
exit code (130 = interrupted) and the last event seen. The moments:

- ``svd start``: SVDImageToVideo begins (loading weights, LoRAs, then the image and VAE encoders);
- ``mid step``: ``--delay`` seconds into the second denoising step;
- ``decode``: right after the last step, while the temporal VAE decodes;
- ``interpolate``: Interpolate begins (one flow pair at a time).

The latency holds the rest of the unit of work the signal lands in plus the process's exit (a
second or so: the interpreter's teardown), so compare rows with each other and with an earlier
version of the code run the same way, on the same machine.

    python benchmarks/interrupt_latency.py [--repeat 3] [--delay 0.5] [--workflow PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / "workflows" / "svd_camera_motion.json"


def moments(delay: float) -> dict:
    """name -> (predicate on an event, seconds to wait after it)."""
    return {
        "svd start": (lambda e: e["event"] == "executing" and e["node"] == "svd", 0.0),
        "mid step": (lambda e: e["event"] == "progress" and e["node"] == "svd" and e["value"] == 1, delay),
        "decode": (lambda e: e["event"] == "progress" and e["node"] == "svd" and e["value"] == e["max"], 0.0),
        "interpolate": (lambda e: e["event"] == "executing" and e["node"] == "interpolate", 0.0),
    }


def one_run(workflow: Path, trigger, wait: float, out: Path) -> tuple[float | None, int, str]:
    """Seconds from SIGINT to exit (None: the moment never came), exit code, last event seen."""
    proc = subprocess.Popen([sys.executable, "-m", "nodegraph.cli", "run", str(workflow), "--no-cache",
                             "--events", "jsonl", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    sent: list[float] = []
    last = [""]

    def read() -> None:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            last[0] = f"{event['event']} {event.get('node') or event.get('status') or ''}".strip()
            if not sent and trigger(event):
                time.sleep(wait)
                sent.append(time.perf_counter())
                proc.send_signal(signal.SIGINT)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    code = proc.wait(timeout=900)
    ended = time.perf_counter()
    reader.join(timeout=10)
    return (ended - sent[0] if sent else None), code, last[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds into the second step for 'mid step'")
    parser.add_argument("--workflow", type=Path, default=WORKFLOW)
    parser.add_argument("--only", nargs="*", help="moments to run (default: all)")
    args = parser.parse_args()
    print(f"{'moment':<12} {'SIGINT→exit s (each run)':<28} {'median':>7}  exit  last event")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (trigger, wait) in moments(args.delay).items():
            if args.only and name not in args.only:
                continue
            runs = [one_run(args.workflow, trigger, wait, Path(tmp)) for _ in range(args.repeat)]
            seconds = [s for s, _, _ in runs if s is not None]
            each = " ".join(f"{s:.2f}" if s is not None else "-" for s, _, _ in runs)
            median = f"{statistics.median(seconds):7.2f}" if seconds else "      -"
            codes = ",".join(sorted({str(c) for _, c, _ in runs}))
            print(f"{name:<12} {each:<28} {median}  {codes:<4}  {runs[-1][2]}", flush=True)


if __name__ == "__main__":
    main()
