"""ComfyUI's ``server`` for custom-node packs: ``PromptServer.instance``.

- ``send_sync(event, data, sid=None)`` (and ``send_json``) from a running node becomes a
  ``message`` event of that node's job (``{"event": "message", "node", "name": event, "data"}``);
  a ``progress`` message becomes a ``progress`` event. Outside a node call it is dropped.
- ``routes`` collects the HTTP routes a pack declares at import with ``@routes.get(...)`` (the
  decorators of aiohttp's ``RouteTableDef``, recording ``method, path, handler, kwargs``, the
  fields of aiohttp's ``RouteDef``); the loader records them per pack and ``nodegraph serve``
  mounts them (``nodegraph.comfyui.routes``).
- ``add_on_prompt_handler(fn)`` is recorded per pack like the routes; ``nodegraph serve`` calls
  each ``fn`` with the body of every ``POST /prompt`` before validation and goes on with what it
  returns (``nodegraph.comfyui.prompt_hooks``).
"""
from __future__ import annotations

import json
from typing import Any, Callable

from nodegraph.comfyui.surface import current


class BinaryEventTypes:
    """ComfyUI's binary websocket message kinds (a pack's ``send_sync`` of one becomes a
    ``message`` event whose data is the payload's text; nodegraph sends no binary previews)."""
    PREVIEW_IMAGE = 1
    UNENCODED_PREVIEW_IMAGE = 2
    TEXT = 3


class RouteRecorder(list):
    """aiohttp's ``RouteTableDef`` decorators, recording ``(method, path, handler, kwargs)``."""

    def route(self, method: str, path: str, **kwargs: Any) -> Callable:
        def register(handler: Callable) -> Callable:
            self.append(_RouteDef(method.upper(), path, handler, kwargs))
            return handler
        return register

    def get(self, path: str, **kwargs: Any) -> Callable:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable:
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable:
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable:
        return self.route("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable:
        return self.route("HEAD", path, **kwargs)

    def view(self, path: str, **kwargs: Any) -> Callable:
        return self.route("*", path, **kwargs)

    def static(self, prefix: str, path: str, **kwargs: Any) -> None:
        self.append(_RouteDef("STATIC", prefix, str(path), kwargs))


class _RouteDef:
    __slots__ = ("method", "path", "handler", "kwargs")

    def __init__(self, method: str, path: str, handler: Any, kwargs: dict) -> None:
        self.method, self.path, self.handler, self.kwargs = method, path, handler, kwargs


class _Router:
    """``PromptServer.instance.app.router``: additions are recorded like ``routes``."""

    def __init__(self, routes: Any) -> None:
        self._routes = routes

    def add_static(self, prefix: str, path: str, **kwargs: Any) -> None:
        self._routes.static(prefix, path, **kwargs)

    def add_route(self, method: str, path: str, handler: Callable, **kwargs: Any) -> None:
        self._routes.route(method, path, **kwargs)(handler)

    def add_get(self, path: str, handler: Callable, **kwargs: Any) -> None:
        self._routes.get(path, **kwargs)(handler)

    def add_post(self, path: str, handler: Callable, **kwargs: Any) -> None:
        self._routes.post(path, **kwargs)(handler)


class _App:
    def __init__(self, routes: Any) -> None:
        self.router = _Router(routes)
        self._routes = routes

    def add_routes(self, routes: Any) -> None:
        for route in routes:
            self._routes.append(route)


class PromptServer:
    instance: "PromptServer"

    def __init__(self) -> None:
        self.routes = RouteRecorder()
        self.app = _App(self.routes)
        self.supports = {"custom_nodes_from_web"}
        self.client_id = None
        self.last_prompt_id = None
        self.on_prompt_handlers: list[Callable] = []
        self.loop = None

    @property
    def last_node_id(self) -> str | None:
        return current().node_id

    def add_on_prompt_handler(self, handler: Callable) -> None:
        self.on_prompt_handlers.append(handler)  # the loader gives it to the pack that added it

    def send_sync(self, event: str, data: Any, sid: Any = None) -> None:
        call = current()
        ctx = call.ctx
        if ctx is None:
            return
        if event == "progress" and isinstance(data, dict) and "value" in data and "max" in data:
            ctx.progress(data["value"], data["max"])
            return
        ctx.emit({"event": "message", "node": call.node_id, "name": str(event), "data": _json_safe(data),
                  **({"job": ctx.job_id} if ctx.job_id else {})})

    async def send_json(self, event: str, data: Any, sid: Any = None) -> None:
        self.send_sync(event, data, sid)

    async def send(self, event: str, data: Any, sid: Any = None) -> None:
        self.send_sync(event, data, sid)


def _json_safe(data: Any) -> Any:
    """Events travel as JSON: anything else becomes its text."""
    try:
        json.dumps(data)
        return data
    except (TypeError, ValueError):
        return json.loads(json.dumps(data, default=str))


PromptServer.instance = PromptServer()
