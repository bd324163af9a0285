"""Orca test helpers: a real OpenAI-compatible chat-completions server on loopback, the Orca
workflow as JSON, and an in-process runner.

The server is scripted per prompt: a list of actions consumed in order ("ok", "429:<seconds>",
"500", "400", "hang", "malformed"), then "ok". It counts every request it receives and every
prompt it answered, and its answer can depend on the system prompt (for strategy search).
"""
from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


class FakeOpenAI:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every request body, in arrival order
        self.answered: list[str] = []  # user prompts answered with a 200 and a valid body
        self.headers: list[dict] = []
        self.scripts: dict[str, list[str]] = {}
        self.answer: Callable[[str, str], str] = lambda system, user: f"ANSWER<{user}>"
        # when set, answers from the whole request (body and headers) instead of ``answer``
        self.reply: Callable[[dict, dict], str] | None = None
        self.hang_after: int | None = None  # answer this many requests, hang on the rest
        self.release = threading.Event()  # ends every hang
        self.api_key: str | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def script(self, needle: str, *actions: str) -> None:
        """Prompts containing ``needle`` get ``actions`` in order, then normal answers."""
        self.scripts[needle] = list(actions)

    def users(self) -> list[str]:
        with self.lock:
            return [_user(r) for r in self.requests]

    def count(self, needle: str = "") -> int:
        return sum(needle in u for u in self.users())

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.answered.clear()
            self.headers.clear()
        self.hang_after = None

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _action(self, user: str) -> str:
        with self.lock:
            if self.hang_after is not None and len(self.answered) >= self.hang_after:
                return "hang"
            for needle, actions in self.scripts.items():
                if needle in user and actions:
                    return actions.pop(0)
        return "ok"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: str, headers: dict | None = None) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout, killed process)
                    pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake.lock:
                    fake.requests.append(body)
                    fake.headers.append(dict(self.headers))
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, json.dumps({"error": {"message": "not found"}}))
                if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._send(401, json.dumps({"error": {"message": "bad api key"}}))
                user = _user(body)
                action = fake._action(user)
                if action.startswith("429"):
                    wait = action.partition(":")[2] or "0"
                    return self._send(429, json.dumps({"error": {"message": "rate limited"}}), {"Retry-After": wait})
                if action == "500":
                    return self._send(500, json.dumps({"error": {"message": "internal error"}}))
                if action == "400":
                    return self._send(400, json.dumps({"error": {"message": "context too long"}}))
                if action == "malformed":
                    return self._send(200, '{"choices": [{"message": {"content": "trunc')
                if action == "hang":
                    fake.release.wait(30)
                system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
                content = fake.reply(body, dict(self.headers)) if fake.reply else fake.answer(system, user)
                reply = {"id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model"),
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                with fake.lock:
                    fake.answered.append(user)
                self._send(200, json.dumps(reply))

        return Handler


def _user(body: dict) -> str:
    return next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")




def pipeline(base_url: str, tasks: Path, *, teacher: dict | None = None, llm: dict | None = None,
             select: dict | None = None, erase: dict | None = None) -> dict:
    """The Orca workflow against an OpenAI-compatible endpoint, as JSON."""
    def link(node, output):
        return {"from": node, "output": output}
    nodes = {
        "tasks": {"type": "LoadTasks", "inputs": {"file": str(tasks)}},
        "strategies": {"type": "Strategies", "inputs": {}},
        "llm": {"type": "OpenAIChatLLM", "inputs": {"base_url": base_url, "model": "test-model", "api_key_env": "",
                                                    "timeout": 2.0, "max_retries": 2, "backoff": 0.01,
                                                    "concurrency": 1, **(llm or {})}},
        "select": {"type": "StrategySelector", "inputs": {"tasks": link("tasks", "tasks"),
                                                           "strategies": link("strategies", "strategies"),
                                                           "llm": link("llm", "llm"), "mode": "mapping",
                                                           **(select or {})}},
        "teacher": {"type": "LLMTeacher", "inputs": {"llm": link("llm", "llm"), "tasks": link("tasks", "tasks"),
                                                     "strategies": link("strategies", "strategies"),
                                                     "mapping": link("select", "mapping"), **(teacher or {})}},
        "erase": {"type": "PromptEraser", "inputs": {"records": link("teacher", "records"), **(erase or {})}},
        "save": {"type": "SaveDataset", "inputs": {"records": link("erase", "records"), "filename": "ds.jsonl"}},
    }
    return {"format": "nodegraph/workflow", "version": 1, "nodes": nodes}


class Runner:
    """Runs workflows in-process; each run is a fresh session (empty node cache) sharing one
    disk folder, like restarting the CLI: only the LLM response cache carries over."""

    def __init__(self, root: Path):
        self.root = root
        self.cache_dir = root / "cache"
        self.out = root / "out"

    def run(self, workflow: dict, interrupt_after: int | None = None, node_cache: bool = False):
        from nodegraph.run.cache import Cache
        from nodegraph.run.context import Environment, InterruptToken
        from nodegraph.run.events import CollectingSink
        from nodegraph.files.roots import FileRoots
        from nodegraph.api.plugins import load_registry
        from nodegraph.run.session import Session
        from nodegraph.graph.workflow import parse_workflow

        registry = load_registry(use_entry_points=False, use_env=False, modules=["nodegraph_nodes.llm.orca"])
        env = Environment(files=FileRoots(input_dir=self.root, output_dir=self.out), cache_dir=self.cache_dir,
                          demo_dir=self.root / "demo", device="cpu")
        session = Session(registry, env, Cache(enabled=node_cache))
        sink = CollectingSink()
        token = InterruptToken()

        def events(event):
            sink(event)
            if (interrupt_after is not None and event["event"] == "progress" and event["node"] == "teacher"
                    and event["value"] >= interrupt_after):
                token.set()

        try:
            result = session.run(parse_workflow(workflow), sink=events, interrupt=token)
        finally:
            session.close()
        return result, sink
