"""Needle test helpers: a real OpenAI-protocol server on loopback whose "model" has a known
recall pattern, the grid workflow as JSON, and an in-process runner.

The pattern model sees the whole document when it is shorter than ``short`` tokens, and
otherwise only its last ``window`` tokens (a sliding-window attention caricature). It answers
with the needle's fact when it can see the needle sentence, else that it does not know. Tokens
are counted here independently with the documented approximation (ceil(characters / 4)).
It can also grade answers (when the system prompt asks for a 1-10 grade) and fail on purpose.
"""
from __future__ import annotations

import json
import math
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

NEEDLE = "The secret ingredient in Grandmother Ilse's plum cake is a spoonful of ground cardamom."
KNOWN = "The secret ingredient is ground cardamom."
UNKNOWN = "The document does not say."
_DOCUMENT = re.compile(r"<document>\n(.*)\n</document>", re.DOTALL)


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def expected_pattern(lengths, depths, window: int, short: int) -> list[list[float]]:
    """What the pattern model should score, from the nominal cell geometry alone."""
    return [[1.0 if length < short or length * (1 - depth / 100) <= window else 0.0 for length in lengths]
            for depth in depths]


# A held request's longest wait for its partners: far above any scheduling delay on a loaded
# machine, so the partners always meet (a hang guard, not a speed target).
HOLD_S = 60.0


class PatternServer:
    def __init__(self, window: int = 1700, short: int = 1500) -> None:
        self.window, self.short = window, short
        self.lock = threading.Lock()
        self.seen: list[dict] = []  # per request: document tokens, needle tokens from the end, status
        self.fail_when: Callable[[int, int], bool] = lambda tokens, from_end: False
        self.hold_until = 0  # hold each request until this many are in flight (or HOLD_S pass) ...
        self.hold_last = 0  # ... except from this many arrivals on: the last one has no partner left to meet
        self.in_flight = self.peak = self.arrived = 0
        self.changed = threading.Condition(self.lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def requests(self) -> int:
        with self.lock:
            return len(self.seen)

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, system: str, user: str) -> tuple[int, str, dict]:
        if "grade" in system.lower():  # acting as the judge
            said = user.split("Answer to grade:", 1)[-1]
            return 200, "Grade: 10" if "cardamom" in said.lower() else "2", {}
        match = _DOCUMENT.search(user)
        if not match:
            return 400, "no <document> in the prompt", {}
        document = match.group(1)
        tokens = approx_tokens(document)
        at = document.find(NEEDLE)
        from_end = approx_tokens(document[at:]) if at >= 0 else -1
        facts = {"tokens": tokens, "from_end": from_end}
        if self.fail_when(tokens, from_end):
            return 500, "the pattern model is down for this cell", facts
        visible = document if tokens < self.short else document[-self.window * 4:]
        return 200, KNOWN if NEEDLE in visible else UNKNOWN, facts

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                messages = body.get("messages", [])
                system = next((m["content"] for m in messages if m["role"] == "system"), "")
                user = next((m["content"] for m in messages if m["role"] == "user"), "")
                with fake.changed:
                    fake.in_flight += 1
                    fake.arrived += 1
                    fake.peak = max(fake.peak, fake.in_flight)
                    fake.changed.notify_all()
                    fake.changed.wait_for(lambda: fake.in_flight >= fake.hold_until
                                          or 0 < fake.hold_last <= fake.arrived, timeout=HOLD_S)
                status, content, facts = fake.answer(system, user)
                with fake.changed:
                    fake.in_flight -= 1
                with fake.lock:
                    fake.seen.append({**facts, "status": status})
                if status != 200:
                    data = json.dumps({"error": {"message": content}}).encode()
                else:
                    prompt = sum(approx_tokens(m["content"]) for m in messages)
                    data = json.dumps({"id": "chatcmpl-needle", "object": "chat.completion", "model": body.get("model"),
                                       "choices": [{"index": 0, "finish_reason": "stop",
                                                    "message": {"role": "assistant", "content": content}}],
                                       "usage": {"prompt_tokens": prompt, "completion_tokens": 8,
                                                 "total_tokens": prompt + 8}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def link(node: str, output: str) -> dict:
    return {"from": node, "output": output}


def grid_workflow(base_url: str, lengths, depths, *, grid: dict | None = None, llm: dict | None = None,
                  judge: bool = False) -> dict:
    nodes = {
        "llm": {"type": "OpenAIChatLLM", "inputs": {"base_url": base_url, "model": "pattern", "api_key_env": "",
                                                    "timeout": 5.0, "max_retries": 1, "backoff": 0.01,
                                                    "concurrency": 4, **(llm or {})}},
        "haystack": {"type": "Haystack", "inputs": {"source": "demo:needle-corpus", "tokens": 500}},
        "grid": {"type": "NeedleGrid", "inputs": {"llm": link("llm", "llm"), "haystack": link("haystack", "haystack"),
                                                  "lengths": list(lengths), "depths": list(depths), **(grid or {})}},
        "heatmap": {"type": "RecallHeatmap", "inputs": {"results": link("grid", "results"), "filename_prefix": "grid"}},
        "report": {"type": "SaveReport", "inputs": {"results": link("grid", "results"), "filename_prefix": "report"}},
    }
    if judge:
        nodes["grid"]["inputs"].update(method="judge", judge=link("llm", "llm"))
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


class Runner:
    """Runs workflows in-process; each run is a fresh session (like a new CLI process) sharing one
    disk folder, so only the LLM response cache carries over between runs."""

    def __init__(self, root: Path, demo_dir: Path):
        self.root, self.demo_dir = root, demo_dir
        self.cache_dir, self.out = root / "cache", root / "out"

    def run(self, workflow: dict, interrupt_after: int | None = None, node: str = "grid", token=None):
        from nodegraph.run.cache import Cache
        from nodegraph.run.context import Environment, InterruptToken
        from nodegraph.run.events import CollectingSink
        from nodegraph.files.roots import FileRoots
        from nodegraph.api.plugins import load_registry
        from nodegraph.run.session import Session
        from nodegraph.graph.workflow import parse_workflow

        registry = load_registry(use_entry_points=False, use_env=False, modules=["nodegraph_nodes.llm"])
        env = Environment(files=FileRoots(input_dir=self.root, output_dir=self.out), cache_dir=self.cache_dir,
                          demo_dir=self.demo_dir, device="cpu")
        session = Session(registry, env, Cache(enabled=False))
        sink, token = CollectingSink(), token or InterruptToken()

        def events(event):
            sink(event)
            if (interrupt_after is not None and event["event"] == "progress" and event["node"] == node
                    and event["value"] >= interrupt_after):
                token.set()

        try:
            result = session.run(parse_workflow(workflow), sink=events, interrupt=token)
        finally:
            session.close()
        return result, sink
