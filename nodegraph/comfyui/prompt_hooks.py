"""Custom-node packs' prompt hooks: ``PromptServer.instance.add_on_prompt_handler(fn)``.

ComfyUI's contract, which packs rely on: on every ``POST /prompt``, before anything else reads
the body, each handler in registration order gets the request's JSON and returns it (the same
object changed in place, or a new one); what it returns is what the next handler and then
validation see. A handler that raises (or returns what is not JSON) is logged and skipped: the body goes on as
it was before that handler. Packs use it to fill in seeds, expand wildcards in text or stamp ``extra_data``.
"""
from __future__ import annotations

import copy
import json
import logging
from typing import Any, Callable, Iterable

log = logging.getLogger("nodegraph.comfyui")


def prompt_handlers(packs: Iterable[Any]) -> list[tuple[str, Callable]]:
    """``(pack name, handler)`` for every hook the loaded packs registered, in load order."""
    return [(pack.name, handler) for pack in packs for handler in getattr(pack, "on_prompt", ())]


def run_prompt_handlers(body: Any, handlers: list[tuple[str, Callable]]) -> Any:
    """``body`` after every handler, each failure logged with the pack's name."""
    for pack, handler in handlers:
        # A copy, so a handler that changes the body in place and then raises leaves no half-change.
        before = copy.deepcopy(body)
        try:
            result = handler(body)
            json.dumps(result, allow_nan=False)  # what goes on is stored and sent as JSON: no sets, no NaN
        except Exception:  # noqa: BLE001 - ComfyUI's contract: a broken hook is skipped
            log.warning("pack %s: prompt handler %s failed; the prompt goes on without it", pack,
                        getattr(handler, "__qualname__", repr(handler)), exc_info=True)
            body = before
            continue
        body = result
    return body
