"""LLM backends behind one interface: ``chat(messages, params, should_stop) -> str``.

- ``OpenAIChatBackend``: any OpenAI-compatible ``/chat/completions`` endpoint over httpx, with a
  bound on requests in flight, timeouts, and retries with exponential backoff on 429, 5xx,
  timeouts, dropped connections and malformed replies (``Retry-After`` is honoured).
- ``TransformersBackend``: a local causal LM folder (AutoModelForCausalLM + AutoTokenizer, chat
  template applied), greedy or seeded sampling.
- ``materialise_demo_llm``: a tiny random-init Llama with a byte-level tokenizer, built from the
  configs in ``demo/`` beside this file so the Orca workflow runs anywhere.

A backend is described by ``LLMSpec``, a frozen, picklable handle that never holds the API key
(only the name of the variable it is read from). ``LLMService`` is the session-long owner of
live backends (HTTP connection pools, loaded models) and response caches. torch, transformers
and httpx are imported only inside the code that needs them.
"""
from __future__ import annotations

import email.utils
import hashlib
import json
import os
import random
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nodegraph.api.errors import Interrupted
from nodegraph.run.devices import resolve_device

from .cache import LLMCache, call_key

DEMO_LLM_NAME = "orca-tiny-llama"
DEMO_CONFIG_DIR = Path(__file__).parent / "demo"
RETRY_AFTER_CAP_S = 120.0
BACKOFF_CAP_S = 30.0

StopCheck = Callable[[], bool]


class LLMCallError(Exception):
    """A call that failed for good (after retries, or with a status that retrying cannot fix)."""

    def __init__(self, message: str, *, attempts: int = 1, status: int | None = None):
        super().__init__(message)
        self.attempts = attempts
        self.status = status


@dataclass(frozen=True)
class LLMSpec:
    """What the LLM socket carries: enough to rebuild the backend anywhere, and no secret."""
    kind: str  # "openai" or "transformers"
    model: str  # model name at the endpoint, or the local model folder
    identity: str  # base URL, or a content fingerprint of the local folder: part of cache keys
    base_url: str = ""
    api_key_env: str = ""
    concurrency: int = 4
    timeout: float = 60.0
    max_retries: int = 4
    backoff: float = 1.0  # first retry delay in seconds, doubled each attempt (with jitter)
    device: str = "auto"
    params: tuple[tuple[str, Any], ...] = ()  # sampling parameters, sorted (hashable)
    context_window: int = 0  # tokens an endpoint accepts (prompt + answer); 0 = unknown

    @property
    def sampling(self) -> dict[str, Any]:
        return dict(self.params)

    def describe(self) -> str:
        return f"{self.model} at {self.base_url}" if self.kind == "openai" else f"local model {self.model}"


def sampling_params(temperature: float, top_p: float, max_tokens: int, seed: int | None) -> tuple:
    params = {"temperature": float(temperature), "top_p": float(top_p), "max_tokens": int(max_tokens)}
    if seed is not None:
        params["seed"] = int(seed)
    return tuple(sorted(params.items()))


def _wait(seconds: float, should_stop: StopCheck | None) -> None:
    """Sleep, waking early (with Interrupted) when the job is interrupted."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        if should_stop is not None and should_stop():
            raise Interrupted("interrupted")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class OpenAIChatBackend:
    def __init__(self, spec: LLMSpec):
        import httpx
        self.spec = spec
        headers = {"Content-Type": "application/json"}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env)
            if not key:
                raise LLMCallError(f"environment variable {spec.api_key_env} is not set (it should hold the API key)")
            headers["Authorization"] = f"Bearer {key}"
        self._url = spec.base_url.rstrip("/") + "/chat/completions"
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(spec.timeout, connect=min(spec.timeout, 10.0)),
            limits=httpx.Limits(max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency))
        # Bounds requests in flight for every caller of this endpoint in the session.
        self._slots = threading.BoundedSemaphore(spec.concurrency)

    def chat(self, messages: list[dict], params: dict, should_stop: StopCheck | None = None) -> dict:
        import httpx
        body = {"model": self.spec.model, "messages": messages, **params}
        attempts = self.spec.max_retries + 1
        problem = ""
        for attempt in range(attempts):
            if should_stop is not None and should_stop():
                raise Interrupted("interrupted")
            retry_after = None
            with self._slots:
                try:
                    response = self._client.post(self._url, json=body)
                except httpx.TimeoutException:
                    problem = f"no answer within the {self.spec.timeout:g} s timeout"
                except httpx.TransportError as exc:
                    problem = f"connection failed ({type(exc).__name__}: {exc})"
                else:
                    status = response.status_code
                    if status == 200:
                        try:
                            return {"content": _content(response), "attempts": attempt + 1}
                        except ValueError as exc:
                            problem = f"malformed response ({exc})"
                    elif status == 429 or status >= 500:
                        problem = f"HTTP {status}: {_excerpt(response.text)}"
                        retry_after = parse_retry_after(response.headers.get("retry-after"))
                    else:  # 400, 401, 404...: the same request would fail again
                        raise LLMCallError(f"HTTP {status} from {self._url}: {_excerpt(response.text)}",
                                           attempts=attempt + 1, status=status)
            if attempt + 1 < attempts:
                delay = retry_after if retry_after is not None else \
                    min(BACKOFF_CAP_S, self.spec.backoff * 2 ** attempt) * random.uniform(0.5, 1.0)
                _wait(delay, should_stop)
        raise LLMCallError(f"{self._url}: gave up after {attempts} attempt{'s' if attempts > 1 else ''}; "
                           f"last: {problem}", attempts=attempts)

    def close(self) -> None:
        self._client.close()


def _content(response) -> str:
    try:
        data = response.json()
    except ValueError:
        raise ValueError(f"not JSON: {_excerpt(response.text, 80)!r}") from None
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("no choices[0].message.content in the reply") from None
    if not isinstance(content, str):
        raise ValueError("choices[0].message.content is not text")
    return content


class TransformersBackend:
    """A local causal LM. Generation is serialised: one model, one generate at a time."""

    def __init__(self, spec: LLMSpec):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()  # our own progress events say what is happening
        self.spec = spec
        self.device = resolve_device(spec.device)
        self.tokenizer = AutoTokenizer.from_pretrained(spec.model, local_files_only=True)
        if not getattr(self.tokenizer, "chat_template", None):
            raise LLMCallError(f"the tokenizer in {spec.model} has no chat template")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(
            spec.model, local_files_only=True, use_safetensors=True, dtype=dtype).to(self.device).eval()
        self._lock = threading.Lock()

    def chat(self, messages: list[dict], params: dict, should_stop: StopCheck | None = None) -> dict:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class _Stop(StoppingCriteria):  # lets an interrupt end a long generation early
            def __call__(self, input_ids, scores, **kwargs):
                return bool(should_stop and should_stop())

        tok = self.tokenizer
        with self._lock:
            enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                          return_dict=True)
            enc = {k: v.to(self.device) for k, v in enc.items()}
            temperature = float(params.get("temperature", 0.0))
            kwargs: dict[str, Any] = {"max_new_tokens": int(params.get("max_tokens", 256)),
                                      "do_sample": temperature > 0,
                                      "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                                      "stopping_criteria": StoppingCriteriaList([_Stop()])}
            if temperature > 0:
                kwargs.update(temperature=temperature, top_p=float(params.get("top_p", 1.0)))
            # Seeded sampling without disturbing anyone else's global RNG state.
            with torch.random.fork_rng(devices=[]), torch.inference_mode():
                torch.manual_seed(int(params.get("seed", 0)))
                out = self.model.generate(**enc, **kwargs)
            if should_stop is not None and should_stop():
                raise Interrupted("interrupted")
            text = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        return {"content": text.strip(), "attempts": 1}

    def close(self) -> None:
        self.model = None


def folder_fingerprint(folder: Path) -> str:
    """Identity of a local model folder for cache keys: survives copies, changes with content.

    Small files are hashed whole; big weight files by size plus their first and last MiB,
    so a 10 GB checkpoint costs milliseconds, not minutes, per session.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        with open(path, "rb") as fh:
            if size <= 64 << 20:
                digest.update(fh.read())
            else:
                digest.update(fh.read(1 << 20))
                fh.seek(-(1 << 20), os.SEEK_END)
                digest.update(fh.read())
    return "sha256:" + digest.hexdigest()


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map used by byte-level BPE."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def _build_demo_tokenizer(folder: Path, specials: list[str]) -> list[int]:
    """A byte-level tokenizer (specials, then one token per byte, no merges): every text encodes.

    transformers 5.x builds a useless tokenizer from no vocabulary (see notes), so we write a
    real tokenizer.json. Returns the ids of bytes outside printable ASCII, which the demo's
    generation config suppresses so its (random) output is at least readable characters.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    byte_chars = _bytes_to_unicode()
    vocab = {tok: i for i, tok in enumerate(specials)}
    for b in range(256):
        vocab[byte_chars[b]] = len(specials) + b
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tokenizer.save(str(folder / "tokenizer.json"))
    return [len(specials) + b for b in range(256) if not (32 <= b < 127 or b == 10)]


def demo_llm_folder(demo_dir: Path, name: str = DEMO_LLM_NAME) -> Path | None:
    """The demo LM folder when already built, else None (never builds)."""
    target = Path(demo_dir) / f"{name}-v1"
    return target if (target / "model.safetensors").is_file() else None


def materialise_demo_llm(demo_dir: Path, name: str = DEMO_LLM_NAME) -> Path:
    """Build (once, atomically) the tiny demo causal LM folder and return it.

    Deterministic: the same shipped configs and seed give the same weights. Built in a
    temporary folder and renamed into place, so a crash never leaves half a model behind.
    """
    if name != DEMO_LLM_NAME:
        raise LLMCallError(f"unknown demo model {name!r}; available: {DEMO_LLM_NAME}")
    target = Path(demo_dir) / f"{name}-v1"
    if (target / "model.safetensors").is_file():
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{name}-"))
    try:
        tok_config = json.loads((DEMO_CONFIG_DIR / "tokenizer_config.json").read_text(encoding="utf-8"))
        specials = tok_config.pop("special_tokens")
        suppressed = _build_demo_tokenizer(tmp, specials)
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2), encoding="utf-8")
        config = AutoConfig.from_pretrained(DEMO_CONFIG_DIR, local_files_only=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(20231120)
            model = AutoModelForCausalLM.from_config(config)
        model.generation_config = GenerationConfig(
            bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
            pad_token_id=config.pad_token_id, suppress_tokens=suppressed)
        from transformers.utils import logging as tlog
        tlog.disable_progress_bar()  # a one-off build: no "Writing model shards" bar in the run's output
        try:
            model.save_pretrained(tmp, safe_serialization=True)
        finally:
            tlog.enable_progress_bar()
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first: keep theirs
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class LLMService:
    """Session-long owner of live backends and response caches (``ctx.service("llm", ...)``)."""

    def __init__(self) -> None:
        self._backends: dict[tuple[LLMSpec, str], Any] = {}
        self._caches: dict[str, LLMCache] = {}
        self._fingerprints: dict[tuple, str] = {}
        self._tokenizers: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._backend_locks: dict[tuple[LLMSpec, str], threading.Lock] = {}

    def backend(self, spec: LLMSpec):
        # A rotated key (same variable, new value) gets a new client; the key itself is only hashed.
        secret = os.environ.get(spec.api_key_env, "") if spec.api_key_env else ""
        slot = (spec, hashlib.sha256(secret.encode()).hexdigest())
        with self._lock:
            backend = self._backends.get(slot)
            if backend is not None:
                return backend
            build_lock = self._backend_locks.setdefault(slot, threading.Lock())
        with build_lock:  # loading a model can take a while; do not hold the service lock
            with self._lock:
                backend = self._backends.get(slot)
            if backend is None:
                backend = (OpenAIChatBackend if spec.kind == "openai" else TransformersBackend)(spec)
                with self._lock:
                    self._backends[slot] = backend
            return backend

    def tokenizer(self, spec: LLMSpec):
        """The backend's own tokenizer (local models), or None where the protocol has none."""
        if spec.kind != "transformers":
            return None
        with self._lock:
            loaded = self._tokenizers.get(spec.model)
        if loaded is None:
            from transformers import AutoTokenizer
            loaded = AutoTokenizer.from_pretrained(spec.model, local_files_only=True)
            with self._lock:
                loaded = self._tokenizers.setdefault(spec.model, loaded)
        return loaded

    def context_window(self, spec: LLMSpec) -> int:
        """Tokens the model accepts (prompt + answer): the endpoint's declared window, or a local
        model's position limit from its config; 0 when unknown."""
        if spec.kind != "transformers":
            return spec.context_window
        if spec.context_window:
            return spec.context_window
        from transformers import AutoConfig
        config = AutoConfig.from_pretrained(spec.model, local_files_only=True)
        window = getattr(config, "max_position_embeddings", None) or 0
        limit = getattr(self.tokenizer(spec), "model_max_length", 0) or 0
        if 0 < limit < 10**8 and (not window or limit < window):  # tokenizers say 1e30 when unset
            window = limit
        return int(window)

    def cache(self, folder: Path | None) -> LLMCache:
        name = str(folder) if folder is not None else ""
        with self._lock:
            if name not in self._caches:
                self._caches[name] = LLMCache(folder)
            return self._caches[name]

    def fingerprint(self, folder: Path) -> str:
        stats = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file())
        key = (str(folder.resolve()), stats)
        with self._lock:
            if key in self._fingerprints:
                return self._fingerprints[key]
        value = folder_fingerprint(folder)
        with self._lock:
            self._fingerprints[key] = value
        return value

    def complete(self, spec: LLMSpec, messages: list[dict], cache: LLMCache,
                 should_stop: StopCheck | None = None) -> dict:
        """One chat call, answered from the cache when possible; the answer is cached at once."""
        key = call_key(spec.kind, spec.identity, spec.model, messages, spec.sampling)
        hit = cache.get(key)
        if hit is not None:
            return {"content": hit["content"], "cached": True, "attempts": 0}
        answer = self.backend(spec).chat(messages, spec.sampling, should_stop)
        cache.put(key, {"content": answer["content"], "model": spec.model, "kind": spec.kind,
                        "attempts": answer.get("attempts", 1)})
        return {**answer, "cached": False}

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()
