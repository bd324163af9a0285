"""ComfyUI's HTTP API on ``nodegraph serve``, under ``/`` and again under ``/api/`` as ComfyUI
serves it (docs/comfyui-api.md has the route table).

``ComfyAPI(server).add_routes(app)`` mounts the routes on the server's one aiohttp application,
behind its security layer (Host, Origin, token, size limits), and installs the websocket
dialect (``sockets.ComfySockets``). A prompt POSTed here is converted to a native workflow
(``api_format.api_to_workflow``), validated like any job and queued as ONE job in the durable
queue: it survives a restart and shows in both histories.

Handlers are thin: JSON in, the pure shapes of ``object_info``, ``prompt_errors``, ``history``
and ``ws_messages`` out; blocking work (validation, the disk) runs in a thread.
"""
from __future__ import annotations

import asyncio
import glob
import inspect
import json
import logging
import os
import platform
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..version import __version__
from ..api.errors import Problem, WorkflowInvalid
from ..server.protocol import ProtocolError, loads
from ..server.uploads import UploadRefused, check_content
from ..server.web import json_response, text_response
from . import history, media, object_info, pack_files, prompt_errors
from .api_format import api_to_workflow, workflow_to_api
from .classes import resolve_class, ui_input_problems, ui_spec_entry
from .load import STASH_KEY
from .logs import LogTail
from .prompt_hooks import prompt_handlers, run_prompt_handlers
from .sockets import PREVIEW_METHODS, ComfySockets
from .userdata import Refused, UserData

log = logging.getLogger("nodegraph.comfyui")

COMFYUI_API_VERSION = "0.3.64"  # the ComfyUI release whose API this follows
# ComfyUI's models/ folder names for nodegraph's model file kinds (others keep their own name).
COMFY_FOLDERS = {"checkpoint": "checkpoints", "lora": "loras", "vae": "vae", "embedding": "embeddings"}
MAX_HISTORY = 10000
USAGE_SOURCE_HEADER = "Comfy-Usage-Source"  # which client queued a prompt; kept in extra_data
JOB_SORTS = ("created_at", "execution_duration")  # /jobs' sort_by values, as ComfyUI names them
TEMP_FOLDER = "temp"  # inside the output folder, where the basic pack's PreviewImage writes
LOGGERS = ("nodegraph", "aiohttp")  # what the frontend's Logs panel shows
# Per-user files ComfyUI's frontend reads at start whether or not the user made them: a missing
# one answers its empty default (ComfyUI answers 404, which the frontend shows as a failed load).
OPTIONAL_USER_FILES = {"user.css": (b"", "text/css; charset=utf-8"),
                       "comfy.templates.json": (b"[]", "application/json")}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body


def ok() -> web.Response:
    """ComfyUI's bodiless 200, with ``{}`` as its body: Chromium reports an empty answer that the
    frontend leaves unread as a failed (aborted) request; clients only read the status."""
    return web.Response(status=200, body=b"{}", headers={"Content-Type": "application/json"})


def comfy_error(kind: str, message: str, details: str = "") -> dict[str, Any]:
    return {"error": prompt_errors.top_error(kind, message, details), "node_errors": {}}


class ComfyAPI:
    """ComfyUI's routes for one ``nodegraph.server.app.Server``."""

    def __init__(self, server):
        self.server = server
        config = server.config
        self.store = server.store
        self.session = server.session
        self.registry = server.session.registry
        self.catalogue = server.services.catalogue
        self.max_json = config.max_text
        self.max_upload = config.max_upload
        # ComfyUI's "temp" folder (PreviewImage's) is output/temp here; listed first, so a file there
        # is reported as temp, not as an output in a subfolder. Made by whatever writes there first:
        # a server that only warms up leaves its output folder empty.
        temp = Path(config.output_dir) / TEMP_FOLDER
        self.folders = {"temp": temp, "output": Path(config.output_dir), "input": Path(config.input_dir)}
        self.users = UserData(Path(config.data_dir) / "users")
        self.specs = {n["type"]: {i["name"]: i for i in n["inputs"]} for n in self.catalogue["nodes"]}
        self.shapes = history.Shapes(self.folders, self._to_api, self._output_nodes)
        self.sockets = ComfySockets(self.store, self.folders, self.features, self._node_types)
        server.hub.dialect = self.sockets
        server.hub.listeners.append(self.sockets)
        self.logs = LogTail(on_entry=lambda entry: server.hub._soon(self.sockets.push_log, entry))
        self.logs.attach(*LOGGERS)

    def close(self) -> None:
        self.logs.detach(*LOGGERS)

    # --- mounting ------------------------------------------------------------------------
    def table(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/prompt", self.get_prompt), ("POST", "/prompt", self.post_prompt),
            ("GET", "/queue", self.get_queue), ("POST", "/queue", self.post_queue),
            ("POST", "/interrupt", self.interrupt), ("POST", "/free", self.free),
            ("GET", "/history", self.get_history), ("GET", "/history/{prompt_id}", self.get_history_item),
            ("POST", "/history", self.post_history),
            ("GET", "/jobs", self.get_jobs), ("POST", "/jobs/cancel", self.cancel_jobs),
            ("GET", "/jobs/{job_id}", self.get_job), ("POST", "/jobs/{job_id}/cancel", self.cancel_job),
            ("GET", "/view", self.view), ("GET", "/view_metadata/{folder}", self.view_metadata),
            ("POST", "/upload/image", self.upload_image), ("POST", "/upload/mask", self.upload_mask),
            ("GET", "/object_info", self.get_object_info), ("GET", "/object_info/{node_class}", self.get_object_class),
            ("GET", "/system_stats", self.system_stats), ("GET", "/features", self.get_features),
            ("GET", "/embeddings", self.embeddings), ("GET", "/models", self.models),
            ("GET", "/models/{folder}", self.models_in), ("GET", "/experiment/models", self.model_folders),
            ("GET", "/experiment/models/{folder}", self.model_files), ("GET", "/extensions", self.extensions),
            ("GET", "/i18n", self.i18n), ("GET", "/workflow_templates", self.workflow_templates),
            ("GET", "/global_subgraphs", self.global_subgraphs), ("GET", "/global_subgraphs/{id}", self.global_subgraph),
            ("GET", "/users", self.get_users), ("POST", "/users", self.post_users),
            ("GET", "/settings", self.get_settings), ("POST", "/settings", self.post_settings),
            ("GET", "/settings/{id}", self.get_setting), ("POST", "/settings/{id}", self.post_setting),
            ("GET", "/userdata", self.list_userdata), ("GET", "/v2/userdata", self.list_userdata_v2),
            ("GET", "/userdata/{file}", self.get_userdata), ("POST", "/userdata/{file}", self.post_userdata),
            ("DELETE", "/userdata/{file}", self.delete_userdata),
            ("POST", "/userdata/{file}/move/{dest}", self.move_userdata),
        ]

    def add_routes(self, app: web.Application) -> None:
        """Every route under ``/api/`` and under ``/`` (ComfyUI's clients use both), and the
        files ComfyUI's frontend asks the server for besides its own (under ``/`` only)."""
        for prefix in ("/api", ""):
            for method, path, handler in self.table():
                app.router.add_route(method, prefix + path, _guarded(handler))
        app.router.add_route("GET", "/user.css", _guarded(self.user_css))
        app.router.add_route("GET", "/templates/{name}", _guarded(self.templates))
        for method, path, handler in self.internal_table():  # ComfyUI mounts these at /internal only
            app.router.add_route(method, "/internal" + path, _guarded(handler))
        self.add_pack_routes(app)

    def add_pack_routes(self, app: web.Application) -> None:
        """The routes custom-node packs declared on ``PromptServer.instance.routes`` (or its
        ``app.router``), mounted as ComfyUI mounts them: under ``/api`` and ``/``, static folders
        under their prefix only. They sit behind the same security layer as every route, after
        ours: a pack route on a method and path nodegraph serves is not mounted (warned), and
        a static folder may not take ``/``."""
        taken = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
        folders = [(prefix, folder) for prefix, folder in self.pack_web_dirs().items()]  # WEB_DIRECTORY
        for name, folder in pack_files.pack_folders(self.registry.comfy_packs.values()).items():
            # example workflows: ComfyUI serves these under /api only
            folders += [(f"/api/workflow_templates/{name}", d) for d in pack_files.template_dirs(folder)]
        for prefix, folder in folders:
            try:
                app.router.add_static(prefix, folder)
            except (RuntimeError, ValueError) as exc:  # a folder name aiohttp cannot route: that pack's loss
                log.warning("custom node pack folder %s not served at %s: %s", folder, prefix, exc)
        for pack in self.registry.comfy_packs.values():
            for route in getattr(pack, "routes", ()):
                try:
                    self._mount_pack_route(app, pack.name, route, taken)
                except (RuntimeError, ValueError, TypeError) as exc:  # aiohttp refuses the path or method
                    log.warning("pack %s: route %s %s not mounted: %s", pack.name, route.method, route.path, exc)

    def pack_web_dirs(self) -> dict[str, Path]:
        """``/extensions/<pack folder>`` -> the pack's ``WEB_DIRECTORY``, as ComfyUI serves them."""
        found = {}
        for pack in self.registry.comfy_packs.values():
            folder = getattr(pack, "web_directory", None)
            if folder is not None and Path(folder).is_dir():
                found["/extensions/" + pack.name.split(":", 1)[-1]] = Path(folder)
        return found

    def _mount_pack_route(self, app: web.Application, pack: str, route: Any, taken: set) -> None:
        if route.method == "STATIC":
            if route.path.strip("/") == "":
                log.warning("pack %s: a static folder at / is not mounted (it would hide the UI)", pack)
                return
            app.router.add_static(route.path, route.handler, **route.kwargs)
            return
        if not isinstance(route.path, str) or not route.path.startswith("/"):
            raise ValueError("the path must start with /")
        for prefix in ("/api", ""):
            path = prefix + route.path
            if (route.method, path) in taken or ("*", path) in taken:
                log.warning("pack %s: %s %s is nodegraph's own route; the pack's is not mounted",
                            pack, route.method, path)
                continue
            handler = route.handler
            if not (isinstance(handler, type) and issubclass(handler, web.View)):
                handler = _pack_handler(handler, pack)
            app.router.add_route(route.method, path, handler, **route.kwargs)
            taken.add((route.method, path))

    def internal_table(self) -> list[tuple[str, str, Handler]]:
        """ComfyUI's routes "for its frontend only" (/internal/...)."""
        return [("GET", "/logs", self.logs_text), ("GET", "/logs/raw", self.logs_raw),
                ("PATCH", "/logs/subscribe", self.logs_subscribe), ("GET", "/folder_paths", self.folder_paths),
                ("GET", "/files/{directory_type}", self.folder_files)]

    # --- helpers -------------------------------------------------------------------------
    async def read_json(self, request: web.Request, default: Any = ...) -> Any:
        """The request's JSON body (strict, at most ``max_text`` bytes), or BadRequest (4xx)."""
        if request.content_length is not None and request.content_length > self.max_json:
            raise BadRequest(413, comfy_error("request_too_large", f"JSON bodies are limited to {self.max_json} bytes"))
        body = await request.content.read(self.max_json + 1)
        if len(body) > self.max_json:
            raise BadRequest(413, comfy_error("request_too_large", f"JSON bodies are limited to {self.max_json} bytes"))
        if not body.strip():
            if default is not ...:
                return default
            raise BadRequest(400, comfy_error("invalid_json", "the request has no JSON body"))
        try:
            return loads(body.decode("utf-8"))
        except (ProtocolError, UnicodeDecodeError) as exc:
            message = exc.message if isinstance(exc, ProtocolError) else "not UTF-8"
            raise BadRequest(400, comfy_error("invalid_json", message))

    def user(self, request: web.Request) -> str:
        return self.users.user_id(request.headers.get("comfy-user"))

    def queue_remaining(self) -> int:
        return self.sockets.queue_remaining()

    def features(self) -> dict[str, Any]:
        return {"supports_preview_metadata": False, "max_upload_size": self.max_upload}

    def _to_api(self, workflow: dict) -> dict:
        return workflow_to_api(workflow, self.registry)

    def _output_nodes(self, workflow: dict) -> list[str]:
        return [nid for nid, n in (workflow.get("nodes") or {}).items()
                if getattr(self.registry.get(n.get("type")), "output_node", False)]

    def _node_types(self, record) -> dict[str, str]:
        prompt = ((record.meta or {}).get("comfyui") or {}).get("prompt")
        if isinstance(prompt, dict):
            return {str(k): v.get("class_type", "") for k, v in prompt.items() if isinstance(v, dict)}
        return {nid: n.get("type", "") for nid, n in (record.workflow.get("nodes") or {}).items()}

    def _files(self) -> Callable[[dict], list[str]]:
        """A picker's files, listed once per request and kind."""
        listed: dict[str, list[str]] = {}
        services = self.server.services

        def files(info: dict) -> list[str]:
            kind = info.get("kind", "")
            if kind not in listed:
                try:
                    names = services.list_files(kind, services.file_extensions.get(kind, ()))
                except Exception:  # noqa: BLE001 - an unreadable folder lists nothing
                    names = []
                listed[kind] = [n for n in names if not any(p.startswith(".") for p in n.split("/"))]
            return listed[kind]
        return files

    def _model_kinds(self) -> dict[str, str]:
        """ComfyUI folder name -> nodegraph model kind."""
        kinds = [k["name"] for k in self.catalogue.get("file_kinds", ()) if k.get("location") == "models"]
        return {COMFY_FOLDERS.get(k, k): k for k in kinds}

    # --- the queue -----------------------------------------------------------------------
    async def get_prompt(self, request: web.Request) -> web.Response:
        return json_response({"exec_info": {"queue_remaining": self.queue_remaining()}})

    async def post_prompt(self, request: web.Request) -> web.Response:
        body = await self.read_json(request)
        hooks = prompt_handlers(self.registry.comfy_packs.values())
        if hooks:  # custom-node packs' add_on_prompt_handler hooks see (and may rewrite) the body first
            body = await asyncio.to_thread(run_prompt_handlers, body, hooks)
        if not isinstance(body, dict):
            return json_response(comfy_error("invalid_prompt", "the body must be a JSON object"), 400)
        if "prompt" not in body:
            return json_response(comfy_error("no_prompt", "No prompt provided", "No prompt provided"), 400)
        prompt_id = body.get("prompt_id")
        if prompt_id is not None and not is_canonical_uuid(prompt_id):  # absent or null: one is made
            return json_response(comfy_error("invalid_prompt_id", "prompt_id must be a valid UUID",
                                             "prompt_id must be a lowercase UUID such as "
                                             "'0b7c6ab1-3f0e-4d7a-9c1e-2a5b8d9e4f10'"), 400)
        prompt = body["prompt"]
        if not isinstance(prompt, dict):
            return json_response(comfy_error("invalid_prompt", "'prompt' must be an object of node id -> node"), 400)
        client_id = body.get("client_id")
        client_id = client_id if isinstance(client_id, str) and client_id else None
        extra = history.safe_extra(body.get("extra_data"))
        if client_id:
            extra["client_id"] = client_id
        usage = request.headers.get(USAGE_SOURCE_HEADER)
        if usage and "comfy_usage_source" not in extra:  # as ComfyUI: the body's own value wins
            extra["comfy_usage_source"] = usage
        extra["create_time"] = int(time.time() * 1000)  # as ComfyUI stamps a queued prompt (ms)
        number = body.get("number")
        if number is not None and (isinstance(number, bool) or not isinstance(number, (int, float))):
            return json_response(comfy_error("invalid_prompt", "'number' must be a number"), 400)
        targets = body.get("partial_execution_targets")
        if targets is not None and (not isinstance(targets, list) or not all(isinstance(t, str) for t in targets)):
            return json_response(comfy_error("invalid_prompt", "'partial_execution_targets' must be a list of node ids"),
                                 400)
        checked = await asyncio.to_thread(self.check_prompt, prompt, targets)
        if isinstance(checked, web.Response):
            return checked
        workflow, outputs, node_errors = checked
        workflow = with_ui_workflow(workflow, extra)
        meta = {"comfyui": {"prompt": prompt, "extra_data": extra, "outputs": outputs, "client_id": client_id}}
        try:
            record = self.store.add(workflow, job_id=prompt_id or str(uuid.uuid4()), meta=meta,
                                    priority=float(number) if number is not None else None,
                                    front=bool(body.get("front")))
        except sqlite3.IntegrityError:
            return json_response(comfy_error("duplicate_prompt_id", f"prompt_id {prompt_id!r} is already used"), 400)
        self.sockets.remember(record.id, client_id, extra.get("preview_method") in PREVIEW_METHODS)
        self.server.worker.wake()
        self.server.hub.broadcast_status()
        return json_response({"prompt_id": record.id, "number": history._number(record.number),
                              "node_errors": node_errors})

    def check_prompt(self, prompt: dict, targets: list[str] | None):
        """(native workflow to queue, output node ids, node_errors) or the 400 response.

        As ComfyUI: only what the outputs need is validated and run; outputs whose nodes are
        invalid are left out with their errors in ``node_errors`` (answer 200) while the others
        run; when none is left, 400 ``prompt_outputs_failed_validation``.
        """
        try:
            native = api_to_workflow(prompt, self.registry)
        except WorkflowInvalid as exc:
            return self._invalid(exc.problems, prompt, [])
        outputs = self._output_nodes(native)
        if targets is not None:
            outputs = [o for o in outputs if o in targets]
        if not outputs:
            return json_response({"error": prompt_errors.NO_OUTPUTS, "node_errors": {}}, 400)
        needed = _needed(native, outputs)
        problems = [p for p in ui_input_problems(prompt, self.registry) if p.node in needed["nodes"]]
        try:
            self.session.prepare(needed)
        except WorkflowInvalid as exc:
            problems = problems + exc.problems
        if not problems:
            return needed, outputs, {}
        errors = prompt_errors.node_errors(problems, prompt, outputs, self._describe(prompt))
        top = prompt_errors.top_level(problems, prompt)
        failed = {o for entry in errors.values() for o in entry["dependent_outputs"]}
        good = [o for o in outputs if o not in failed]
        if top is not None or not good:
            return json_response({"error": top or prompt_errors.OUTPUTS_FAILED, "node_errors": errors}, 400)
        try:
            self.session.prepare(_needed(native, good))
        except WorkflowInvalid as exc:  # what the remaining outputs share failed too
            return self._invalid(exc.problems, prompt, good)
        log.warning("prompt: outputs %s left out (invalid): %s", sorted(failed), sorted(errors))
        return _needed(native, good), good, errors

    def _invalid(self, problems: list[Problem], prompt: dict, outputs: list[str]) -> web.Response:
        if not outputs:
            outputs = [nid for nid, e in prompt.items() if isinstance(e, dict)
                       and getattr(self._class(e.get("class_type")), "output_node", False)]
        errors = prompt_errors.node_errors(problems, prompt, outputs, self._describe(prompt))
        top = prompt_errors.top_level(problems, prompt)
        return json_response({"error": top or prompt_errors.OUTPUTS_FAILED, "node_errors": errors}, 400)

    def _class(self, comfy_name: Any):
        comfy = resolve_class(comfy_name, self.registry) if isinstance(comfy_name, str) else None
        return comfy.cls if comfy is not None else None

    def _describe(self, prompt: dict) -> Callable[[str, str | None], tuple[dict | None, str | None]]:
        def describe(node: str, name: str | None) -> tuple[dict | None, str | None]:
            entry = prompt.get(node)
            comfy = resolve_class(entry.get("class_type"), self.registry) \
                if isinstance(entry, dict) and isinstance(entry.get("class_type"), str) else None
            if comfy is None or name is None:
                return None, name
            specs = self.specs.get(comfy.native_type, {})
            if name in comfy.ui_specs:  # an alias's UI-only input (SaveVideo's format)
                return ui_spec_entry(name, comfy.ui_specs[name]), name
            if name in specs:  # a native input name (validation problems)
                return specs[name], comfy.comfy_input(name)
            native = comfy.native_input(name)  # a ComfyUI input name (conversion problems)
            return specs.get(native or ""), name
        return describe

    async def get_queue(self, request: web.Request) -> web.Response:
        def read():
            running, _ = self.store.select(("running",), 1000, by="queue", newest_first=False)
            pending, _ = self.store.select(("pending",), 10000, by="queue", newest_first=False)
            return {"queue_running": [self.shapes.prompt_tuple(r) for r in running],
                    "queue_pending": [self.shapes.prompt_tuple(r) for r in pending]}
        return json_response(await asyncio.to_thread(read))

    async def post_queue(self, request: web.Request) -> web.Response:
        body = await self.read_json(request)
        delete, refused = _delete_request(body)
        if refused is not None:
            return refused
        if body.get("clear"):
            delete = delete + self.store.pending_ids()
        cancelled = [job_id for job_id in delete if self.store.cancel(job_id)]
        if cancelled:
            self.server.hub.broadcast_status()
        return ok()

    async def interrupt(self, request: web.Request) -> web.Response:
        body = await self.read_json(request, default={})
        prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
        self.server.worker.interrupt(prompt_id if isinstance(prompt_id, str) and prompt_id else None)
        return ok()

    async def free(self, request: web.Request) -> web.Response:
        await self.read_json(request, default={})
        return ok()  # models stay warm: nodegraph's model cache manages memory itself

    # --- history -------------------------------------------------------------------------
    async def get_history(self, request: web.Request) -> web.Response:
        max_items = _int(request.query.get("max_items"), None)
        offset = _int(request.query.get("offset"), -1)
        if max_items is False or offset is False:
            return json_response(comfy_error("invalid_request", "max_items and offset must be integers"), 400)

        def read():
            total = self.store.select(history.FINISHED, 0)[1]
            limit = MAX_HISTORY if max_items is None else max(0, min(max_items, MAX_HISTORY))
            start = offset if offset is not None and offset >= 0 else max(0, total - limit)
            records, _ = self.store.select(history.FINISHED, limit, start, by="finished", newest_first=False)
            return {r.id: self.shapes.history_item(r) for r in records}
        return json_response(await asyncio.to_thread(read))

    async def get_history_item(self, request: web.Request) -> web.Response:
        record = await asyncio.to_thread(self.store.get, request.match_info["prompt_id"])
        if record is None or record.status not in history.FINISHED:
            return json_response({})
        return json_response({record.id: self.shapes.history_item(record)})

    async def post_history(self, request: web.Request) -> web.Response:
        body = await self.read_json(request)
        delete, refused = _delete_request(body)
        if refused is not None:
            return refused
        if body.get("clear"):
            await asyncio.to_thread(self.store.delete_finished, None)
        if delete:
            await asyncio.to_thread(self.store.delete_finished, delete)
        return ok()

    # --- /api/jobs (the frontend's queue and history panels) ----------------------------
    async def get_jobs(self, request: web.Request) -> web.Response:
        """ComfyUI's job list: ``status`` (comma-separated), ``workflow_id`` (the UI workflow's id),
        ``sort_by`` (``created_at``, the queue order, or ``execution_duration``), ``sort_order``
        (``desc`` by default), ``limit`` (a positive integer; absent: every job) and ``offset``
        (a negative one counts as 0)."""
        query = request.query
        wanted = [s for s in (query.get("status") or "").split(",") if s]
        ours = {"pending": ("pending",), "in_progress": ("running",), "completed": ("success",),
                "failed": ("failed", "interrupted"), "cancelled": ("cancelled",)}
        unknown = [s for s in wanted if s not in ours]
        if unknown:
            return json_response({"error": f"unknown status {unknown[0]!r}"}, 400)
        limit, offset = _int(query.get("limit"), None), _int(query.get("offset"), 0)
        if limit is False or (limit is not None and limit <= 0):
            return json_response({"error": "limit must be a positive integer"}, 400)
        if offset is False:
            return json_response({"error": "offset must be an integer"}, 400)
        offset = max(offset, 0)
        sort_by, sort_order = query.get("sort_by", "created_at"), query.get("sort_order", "desc")
        if sort_by not in JOB_SORTS:
            return json_response({"error": f"sort_by must be one of {', '.join(JOB_SORTS)}"}, 400)
        if sort_order not in ("asc", "desc"):
            return json_response({"error": "sort_order must be 'asc' or 'desc'"}, 400)
        workflow_id = query.get("workflow_id") or None
        statuses = tuple(s for w in (wanted or list(ours)) for s in ours[w])
        newest = sort_order == "desc"
        page = min(limit, MAX_HISTORY) if limit is not None else MAX_HISTORY

        def read():
            if workflow_id is None and sort_by == "created_at":  # one page straight from the queue's order
                records, total = self.store.select(statuses, page, offset, newest_first=newest)
            else:  # filtered or sorted here: every job of those statuses (the history keeps MAX_HISTORY)
                records, _ = self.store.select(statuses, MAX_HISTORY, 0, newest_first=newest)
                if workflow_id is not None:
                    records = [r for r in records if self.shapes.workflow_id(r) == workflow_id]
                if sort_by == "execution_duration":  # stable: equal durations keep the queue order
                    records.sort(key=_duration, reverse=newest)
                total = len(records)
                records = records[offset:offset + page]
            return {"jobs": [self.shapes.job(r) for r in records],
                    "pagination": {"offset": offset, "limit": limit, "total": total,
                                   "has_more": offset + len(records) < total}}
        return json_response(await asyncio.to_thread(read))

    async def get_job(self, request: web.Request) -> web.Response:
        record = await asyncio.to_thread(self.store.get, request.match_info["job_id"])
        if record is None:
            return json_response({"error": "job not found"}, 404)
        return json_response(self.shapes.job(record, detail=True))

    async def cancel_job(self, request: web.Request) -> web.Response:
        """ComfyUI's answer: ``{"cancelled": true}`` when a pending job was dropped or the running
        one interrupted; false (still 200) for a finished or unknown id."""
        return json_response({"cancelled": self._cancel(request.match_info["job_id"])})

    async def cancel_jobs(self, request: web.Request) -> web.Response:
        body = await self.read_json(request)
        ids = body.get("job_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 100:
            return json_response({"error": "job_ids must be a list of 1..100 job ids"}, 400)
        return json_response({"cancelled": any([self._cancel(i) for i in ids])})  # every id, then any

    def _cancel(self, job_id: str) -> bool:
        """A pending job is cancelled, the running one interrupted."""
        if self.store.cancel(job_id):
            self.server.hub.broadcast_status()
            return True
        return self.server.worker.interrupt(job_id) is not None

    # --- files ---------------------------------------------------------------------------
    async def view(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if "filename" not in query:
            return text_response(404, "not found\n")
        try:
            path = await asyncio.to_thread(media.view_path, self.folders, query["filename"],
                                           query.get("subfolder", ""), query.get("type"))
            if query.get("preview") or query.get("channel") in ("rgb", "a"):
                body, kind = await asyncio.to_thread(media.preview, path, query.get("preview", ""),
                                                     query.get("channel", ""))
                return web.Response(body=body, headers={"Content-Type": kind, "Cache-Control": "no-cache"})
        except Refused as exc:
            return text_response(exc.status, exc.reason + "\n")
        except (OSError, ValueError):  # not an image PIL can read
            return text_response(400, "cannot make a preview of that file\n")
        return web.FileResponse(path, headers=_download_headers(path))

    async def view_metadata(self, request: web.Request) -> web.Response:
        kind = self._model_kinds().get(request.match_info["folder"]) or request.match_info["folder"]
        name = request.query.get("filename", "")
        if not name.endswith(".safetensors"):
            return text_response(404, "not found\n")

        def read():
            try:
                path = self.session.env.files.resolve(kind, name)
            except ValueError:
                return None
            return _safetensors_metadata(path) if path is not None and path.is_file() else None
        metadata = await asyncio.to_thread(read)
        return json_response(metadata) if metadata is not None else text_response(404, "not found\n")

    async def _form(self, request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > self.max_upload:
            raise BadRequest(413, comfy_error("request_too_large", f"uploads are limited to {self.max_upload} bytes"))
        if not request.content_type.startswith("multipart/"):
            raise BadRequest(400, comfy_error("invalid_upload", "uploads are multipart/form-data"))
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            raise BadRequest(413, comfy_error("request_too_large", f"uploads are limited to {self.max_upload} bytes"))
        except (ValueError, AssertionError, UnicodeDecodeError, HttpProcessingError) as exc:
            raise BadRequest(400, comfy_error("invalid_upload", f"cannot read the form: {exc}"))
        return dict(form)

    async def upload_image(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        return await self._store_upload(form, None)

    async def upload_mask(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        try:
            ref = json.loads(form.get("original_ref") or "")
        except (TypeError, ValueError):
            return json_response(comfy_error("invalid_upload", "original_ref must be JSON {filename, subfolder, type}"),
                                 400)
        if not isinstance(ref, dict) or not isinstance(ref.get("filename"), str):
            return json_response(comfy_error("invalid_upload", "original_ref needs a filename"), 400)
        return await self._store_upload(form, ref)

    async def _store_upload(self, form: dict[str, Any], mask_of: dict | None) -> web.Response:
        image = form.get("image")
        if not isinstance(image, web.FileField) or not image.filename:
            return json_response(comfy_error("invalid_upload", "the form needs a file field 'image' with a filename"),
                                 400)
        fields = {k: form.get(k, "") for k in ("subfolder", "type", "overwrite")}
        if not all(isinstance(v, str) for v in fields.values()):
            return json_response(comfy_error("invalid_upload", "subfolder, type and overwrite are text fields"), 400)
        overwrite = fields["overwrite"].lower() in ("true", "1")

        def save():
            kind, root = media.folder(self.folders, fields["type"] or None, "input")
            data = image.file.read(self.max_upload + 1)
            if len(data) > self.max_upload:
                raise Refused(413, f"uploads are limited to {self.max_upload} bytes")
            if mask_of is not None:
                original = media.view_path(self.folders, mask_of["filename"], str(mask_of.get("subfolder") or ""),
                                           str(mask_of.get("type") or "output"))
                data = media.mask_onto(original, data)
                name = media.check_filename(image.filename)
                if not name.lower().endswith(".png"):
                    name += ".png"
            else:
                name = media.check_filename(image.filename)
                media.upload_bytes_ok(name, data)
                check_content(name, data)  # the bytes are what the name claims (the native upload's check)
            stored = media.store(root, fields["subfolder"], name, data, overwrite)
            return {"name": stored, "subfolder": media.check_subfolder(fields["subfolder"]), "type": kind}
        try:
            return json_response(await asyncio.to_thread(save))
        except Refused as exc:
            return json_response(comfy_error("invalid_upload", exc.reason), exc.status)
        except UploadRefused as exc:
            return json_response(comfy_error("invalid_upload", str(exc)), 400)
        except (OSError, ValueError) as exc:  # a mask that is no image
            return json_response(comfy_error("invalid_upload", f"cannot read the image: {exc}"), 400)

    # --- nodes, models, the machine ------------------------------------------------------
    async def get_object_info(self, request: web.Request) -> web.Response:
        def build():
            out = object_info.object_info(self.catalogue, self.registry.comfy_aliases, self._files())
            for name, info in out.items():
                self._list_flags(name, info)
            return out
        return json_response(await asyncio.to_thread(build))

    def _list_flags(self, name: str, info: dict[str, Any]) -> dict[str, Any]:
        """The per-node flags ComfyUI adds to a definition: ``is_input_list`` and ``output_is_list``
        (a custom-node pack's ``INPUT_IS_LIST`` / ``OUTPUT_IS_LIST``; the frontend marks list
        outputs), ``has_intermediate_output`` and ``search_aliases`` (always sent), and
        ``deprecated`` / ``experimental`` / ``dev_only`` / ``api_node`` (only where a pack's class
        sets them). nodegraph's own nodes: no lists, no intermediate output, no aliases."""
        cls = self.registry.get(name) if name not in self.registry.comfy_aliases else None
        spec = getattr(cls, "comfy_spec", None)
        info["is_input_list"] = bool(getattr(spec, "input_is_list", False))
        if spec is not None and len(spec.outputs) == len(info["output_is_list"]):
            info["output_is_list"] = [bool(o.is_list) for o in spec.outputs]
        info.update(object_info.v1_flags(getattr(cls, "comfy_class", None) if spec is not None else None))
        return info

    async def get_object_class(self, request: web.Request) -> web.Response:
        name = request.match_info["node_class"]

        def build():
            comfy = resolve_class(name, self.registry)
            if comfy is None:
                return {}
            spec = next(n for n in self.catalogue["nodes"] if n["type"] == comfy.native_type)
            if comfy.comfy_name != comfy.native_type or comfy.renames or comfy.fixed:
                return {name: self._list_flags(name, object_info.node_info(spec, self._files(), name, comfy.renames,
                                                                           comfy.fixed, comfy.ui_specs))}
            return {name: self._list_flags(name, object_info.node_info(spec, self._files()))}
        return json_response(await asyncio.to_thread(build))

    async def system_stats(self, request: web.Request) -> web.Response:
        return json_response(await asyncio.to_thread(self._system_stats))

    def _system_stats(self) -> dict[str, Any]:
        from importlib.metadata import PackageNotFoundError, version
        try:
            torch_version = version("torch")
        except PackageNotFoundError:
            torch_version = ""
        total, free = _memory()
        device = self.session.env.device or "cpu"
        devices = [{"name": "cpu", "type": "cpu", "index": None, "vram_total": total, "vram_free": free,
                    "torch_vram_total": total, "torch_vram_free": free}]
        torch = sys.modules.get("torch")  # only when a job imported it: a stats call never loads torch
        if device.startswith("cuda") and torch is not None and torch.cuda.is_available():
            index = torch.cuda.current_device()
            vram_free, vram_total = torch.cuda.mem_get_info(index)
            devices = [{"name": f"cuda:{index} {torch.cuda.get_device_name(index)}", "type": "cuda", "index": index,
                        "vram_total": vram_total, "vram_free": vram_free,
                        "torch_vram_total": torch.cuda.memory_reserved(index),
                        "torch_vram_free": torch.cuda.memory_reserved(index) - torch.cuda.memory_allocated(index)}]
        from .frontend import frontend_version
        return {"system": {"os": sys.platform, "ram_total": total, "ram_free": free,
                           "comfyui_version": COMFYUI_API_VERSION, "nodegraph_version": __version__,
                           "installed_frontend_version": frontend_version() or "",
                           "python_version": sys.version, "pytorch_version": torch_version,
                           "embedded_python": False,
                           # nodegraph has none of ComfyUI's paid API nodes; the frontend then skips
                           # comfy.org's release checks
                           "argv": ["nodegraph", "serve", "--disable-api-nodes"],
                           "platform": platform.platform()},
                "devices": devices}

    async def get_features(self, request: web.Request) -> web.Response:
        return json_response(self.features())

    async def embeddings(self, request: web.Request) -> web.Response:
        kind = self._model_kinds().get("embeddings")
        names = await asyncio.to_thread(self._files(), {"kind": kind}) if kind else []
        return json_response([os.path.splitext(n)[0] for n in names])

    async def models(self, request: web.Request) -> web.Response:
        return json_response(sorted(self._model_kinds()))

    async def models_in(self, request: web.Request) -> web.Response:
        kinds = self._model_kinds()
        folder = request.match_info["folder"]
        kind = kinds.get(folder) or (folder if folder in kinds.values() else None)
        if kind is None:
            return text_response(404, f"no model folder {folder!r}; folders: {', '.join(sorted(kinds))}\n")
        return json_response(await asyncio.to_thread(self._files(), {"kind": kind}))

    async def model_folders(self, request: web.Request) -> web.Response:
        files = self.session.env.files
        return json_response([{"name": name, "folders": [str(p) for p in files.roots(kind)]}
                              for name, kind in sorted(self._model_kinds().items())])

    async def model_files(self, request: web.Request) -> web.Response:
        kind = self._model_kinds().get(request.match_info["folder"])
        if kind is None:
            return text_response(404, "not found\n")
        names = await asyncio.to_thread(self._files(), {"kind": kind})
        return json_response([{"name": n, "pathIndex": 0} for n in names])

    async def extensions(self, request: web.Request) -> web.Response:
        """ComfyUI's answer: the web root's extension scripts, then the ``.js`` files of custom-node
        packs' ``WEB_DIRECTORY`` (served under ``/extensions/<pack folder>/``); the frontend
        imports each."""
        root = self.server.web_dir
        packs = self.pack_web_dirs()

        def walk():
            found = glob.glob(os.path.join(glob.escape(str(root)), "extensions", "**", "*.js"), recursive=True)
            listed = sorted("/" + os.path.relpath(f, root).replace(os.sep, "/") for f in found)
            for prefix, folder in packs.items():
                scripts = glob.glob(os.path.join(glob.escape(str(folder)), "**", "*.js"), recursive=True)
                base = "/extensions/" + quote(prefix[len("/extensions/"):])
                listed += sorted(base + "/" + quote(os.path.relpath(f, folder).replace(os.sep, "/"))
                                 for f in scripts)
            return listed
        return json_response(await asyncio.to_thread(walk))

    async def i18n(self, request: web.Request) -> web.Response:
        """Custom-node packs' translations (``locales/``), merged; nodegraph's packs ship none."""
        folders = pack_files.pack_folders(self.registry.comfy_packs.values())
        return json_response(await asyncio.to_thread(pack_files.translations, folders))

    async def workflow_templates(self, request: web.Request) -> web.Response:
        """Custom-node packs' example workflows by pack folder (served under
        ``/api/workflow_templates/<pack folder>/``)."""
        folders = pack_files.pack_folders(self.registry.comfy_packs.values())
        return json_response(await asyncio.to_thread(pack_files.workflow_templates, folders))

    async def templates(self, request: web.Request) -> web.Response:
        """ComfyUI serves its template gallery from the comfyui-workflow-templates package; nodegraph
        ships none in that layout: an empty gallery (``index*.json``), no logos."""
        name = request.match_info["name"]
        if name.startswith("index") and name.endswith(".json"):
            return json_response({} if name == "index_logo.json" else [])
        return text_response(404, "not found\n")

    async def global_subgraphs(self, request: web.Request) -> web.Response:
        return json_response({})  # subgraph blueprints: none are installed

    async def global_subgraph(self, request: web.Request) -> web.Response:
        return json_response({"error": "no such subgraph"}, 404)

    async def user_css(self, request: web.Request) -> web.StreamResponse:
        """The frontend's ``/user.css``: the user's own stylesheet (userdata ``user.css``), or an
        empty one."""
        return await self._userdata_file(request, "user.css")

    # --- /internal -----------------------------------------------------------------------
    async def logs_text(self, request: web.Request) -> web.Response:
        return json_response(self.logs.text())

    async def logs_raw(self, request: web.Request) -> web.Response:
        return json_response(self.logs.raw())

    async def logs_subscribe(self, request: web.Request) -> web.Response:
        body = await self.read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("clientId"), str):
            return json_response({"error": "{clientId, enabled} expected"}, 400)
        self.sockets.subscribe_logs(body["clientId"], bool(body.get("enabled")))
        return ok()

    async def folder_paths(self, request: web.Request) -> web.Response:
        files = self.session.env.files
        return json_response({name: [str(p) for p in files.roots(kind)] for name, kind in self._model_kinds().items()})

    async def folder_files(self, request: web.Request) -> web.Response:
        """Files (no folders) directly in the output, input or temp folder, newest first."""
        kind = request.match_info["directory_type"]
        if kind not in self.folders:
            return json_response({"error": "Invalid directory type"}, 400)

        def scan():
            if not self.folders[kind].is_dir():
                return []
            entries = [e for e in os.scandir(self.folders[kind]) if e.is_file() and not e.name.startswith(".")]
            return [e.name for e in sorted(entries, key=lambda e: -e.stat().st_mtime)]
        return json_response(await asyncio.to_thread(scan))

    # --- users, settings, userdata -------------------------------------------------------
    async def get_users(self, request: web.Request) -> web.Response:
        return json_response({"storage": "server", "migrated": True})

    async def post_users(self, request: web.Request) -> web.Response:
        body = await self.read_json(request)
        name = body.get("username") if isinstance(body, dict) else None
        try:
            return json_response(await asyncio.to_thread(self.users.add_user, name))
        except Refused as exc:
            return json_response({"error": exc.reason}, exc.status)

    async def get_settings(self, request: web.Request) -> web.Response:
        return json_response(await asyncio.to_thread(self.users.settings, self.user(request)))

    async def get_setting(self, request: web.Request) -> web.Response:
        settings = await asyncio.to_thread(self.users.settings, self.user(request))
        return json_response(settings.get(request.match_info["id"]))

    async def post_settings(self, request: web.Request) -> web.Response:
        body = await self.read_json(request)
        if not isinstance(body, dict):
            return json_response({"error": "settings are a JSON object"}, 400)
        user = self.user(request)

        def save():
            self.users.save_settings(user, {**self.users.settings(user), **body})
        await asyncio.to_thread(save)
        return ok()

    async def post_setting(self, request: web.Request) -> web.Response:
        value = await self.read_json(request)
        user, key = self.user(request), request.match_info["id"]

        def save():
            self.users.save_settings(user, {**self.users.settings(user), key: value})
        await asyncio.to_thread(save)
        return ok()

    async def list_userdata(self, request: web.Request) -> web.Response:
        query = request.query
        directory = query.get("dir", "")
        if not directory:
            return text_response(400, "Directory not provided\n")
        flag = lambda name: query.get(name, "").lower() == "true"  # noqa: E731
        try:
            found = await asyncio.to_thread(self.users.listing, self.user(request), directory, flag("recurse"),
                                            flag("full_info"), flag("split"))
        except Refused as exc:
            return text_response(exc.status, exc.reason + "\n")
        return json_response(found)

    async def list_userdata_v2(self, request: web.Request) -> web.Response:
        try:
            found = await asyncio.to_thread(self.users.listing_v2, self.user(request), request.query.get("path", ""))
        except Refused as exc:
            return text_response(exc.status, exc.reason + "\n")
        return json_response(found)

    async def get_userdata(self, request: web.Request) -> web.StreamResponse:
        return await self._userdata_file(request, request.match_info["file"])

    async def _userdata_file(self, request: web.Request, name: str) -> web.StreamResponse:
        try:
            path = await asyncio.to_thread(self.users.path, self.user(request), name)
        except Refused as exc:
            return text_response(exc.status, exc.reason + "\n")
        if not path.is_file():
            if name in OPTIONAL_USER_FILES:  # files the frontend probes for: their empty default
                body, kind = OPTIONAL_USER_FILES[name]
                return web.Response(body=body, headers={"Content-Type": kind, "Cache-Control": "no-cache"})
            return text_response(404, "not found\n")
        return web.FileResponse(path, headers=_download_headers(path, inline_text=True))

    async def post_userdata(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > self.max_upload:
            return text_response(413, f"files are limited to {self.max_upload} bytes\n")
        data = await request.content.read(self.max_upload + 1)
        if len(data) > self.max_upload:
            return text_response(413, f"files are limited to {self.max_upload} bytes\n")
        overwrite = request.query.get("overwrite", "true") != "false"
        full_info = request.query.get("full_info", "false").lower() == "true"
        user = self.user(request)
        try:
            path = await asyncio.to_thread(self.users.write, user, request.match_info["file"], data, overwrite)
        except Refused as exc:
            return text_response(exc.status, exc.reason + "\n")
        return json_response(self.users.info(user, path) if full_info
                             else path.relative_to(self.users.root(user)).as_posix())

    async def delete_userdata(self, request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(self.users.delete, self.user(request), request.match_info["file"])
        except Refused as exc:
            return text_response(exc.status, exc.reason + "\n")
        return web.Response(status=204)

    async def move_userdata(self, request: web.Request) -> web.Response:
        overwrite = request.query.get("overwrite", "true") != "false"
        full_info = request.query.get("full_info", "false").lower() == "true"
        user = self.user(request)
        try:
            path = await asyncio.to_thread(self.users.move, user, request.match_info["file"],
                                           request.match_info["dest"], overwrite)
        except Refused as exc:
            return text_response(exc.status, exc.reason + "\n")
        return json_response(self.users.info(user, path) if full_info
                             else path.relative_to(self.users.root(user)).as_posix())


def _guarded(handler: Handler) -> Handler:
    """BadRequest -> its 4xx answer; any other failure is logged and answered 500 with its reason
    (a bug here must not look like the client's fault, nor drop the connection)."""
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadRequest as exc:
            return json_response(exc.body, exc.status)
        except web.HTTPException:
            raise
        except Exception as exc:  # noqa: BLE001
            log.exception("%s %s failed", request.method, request.path)
            return json_response(comfy_error("server_error", f"{type(exc).__name__}: {exc}"), 500)
    run.__name__ = getattr(handler, "__name__", "handler")
    return run


def with_ui_workflow(native: dict, extra: dict) -> dict:
    """The job's workflow carrying the UI workflow the frontend sent (``extra_pnginfo.workflow``)
    as its ComfyUI workflow: outputs saved for ComfyUI embed it as their ``workflow`` (with the
    values that ran), as ComfyUI embeds it, so the file reopens in ComfyUI or nodegraph."""
    pnginfo = extra.get("extra_pnginfo")
    ui_workflow = pnginfo.get("workflow") if isinstance(pnginfo, dict) else None
    if not isinstance(ui_workflow, dict):
        return native
    ui = native.get("ui") if isinstance(native.get("ui"), dict) else {}
    return {**native, "ui": {**ui, STASH_KEY: {"workflow": ui_workflow, "verbatim": True}}}


def _pack_handler(handler: Callable, pack: str) -> Handler:
    """A pack's route handler (async or, as ComfyUI tolerates, plain): its failure is logged with
    the pack's name and answered 500 with the reason, and the server goes on."""
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            result = handler(request)
            if inspect.isawaitable(result):
                result = await result
            return result
        except web.HTTPException:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken pack route must not look like ours
            log.exception("pack %s: %s %s failed", pack, request.method, request.path)
            return json_response({"error": f"custom node pack {pack}: {type(exc).__name__}: {exc}"}, 500)
    run.__name__ = getattr(handler, "__name__", "handler")
    return run


def _needed(native: dict, outputs: list[str]) -> dict:
    """The native workflow with only the nodes ``outputs`` need (ComfyUI validates and runs no more)."""
    nodes = native["nodes"]
    needed: set[str] = set()
    todo = list(outputs)
    while todo:
        node = todo.pop()
        if node in needed or node not in nodes:
            continue
        needed.add(node)
        todo.extend(v["from"] for v in nodes[node].get("inputs", {}).values() if isinstance(v, dict) and "from" in v)
    return {**native, "nodes": {nid: entry for nid, entry in nodes.items() if nid in needed}}


def is_canonical_uuid(value: Any) -> bool:
    """A UUID in its canonical text form (lowercase, hyphenated): the only ``prompt_id`` ComfyUI
    takes from a client, so ids stay safe in paths, filenames and logs."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _duration(record) -> float:
    """How long a job ran (seconds); 0 for one that has not finished running."""
    if record.started and record.finished:
        return max(record.finished - record.started, 0.0)
    return 0.0


def _int(value: str | None, default: Any) -> Any:
    """An integer query parameter; ``default`` when absent; False when it is not an integer."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return False


def _download_headers(path: Path, inline_text: bool = False) -> dict[str, str]:
    """A served file's type: never one a browser would run in our origin (html, js, svg, ...)."""
    from ..server import static
    kind = static.content_type(path.name)
    if not inline_text and (kind.startswith(("text/", "application/json")) or kind == "image/svg+xml"):
        kind = "application/octet-stream"
    if inline_text and kind.startswith("text/html"):
        kind = "application/octet-stream"
    return {"Content-Type": kind, "Cache-Control": "no-cache",
            "Content-Disposition": f"filename=\"{path.name.replace(chr(34), '')}\""}


def _memory() -> tuple[int, int]:
    """(total, available) bytes of RAM, from /proc/meminfo where there is one."""
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        return int(info["MemTotal"].split()[0]) * 1024, int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        pages = os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
        return pages * os.sysconf("SC_PAGE_SIZE") if pages else 0, 0


def _safetensors_metadata(path: Path) -> dict | None:
    """The ``__metadata__`` of a .safetensors header (first 8 bytes: its length), or None."""
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 0 < size <= 1 << 20:
                return None
            header = json.loads(fh.read(size))
    except (OSError, ValueError):
        return None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else None


def _delete_request(body: Any) -> tuple[list[str], web.Response | None]:
    """POST /queue and /history share one body: ``{"clear"?: bool, "delete"?: [prompt ids]}``."""
    if not isinstance(body, dict):
        return [], json_response(comfy_error("invalid_request", "the body must be a JSON object"), 400)
    delete = body.get("delete", [])
    if not isinstance(delete, list) or not all(isinstance(d, str) for d in delete):
        return [], json_response(comfy_error("invalid_request", "'delete' must be a list of prompt ids"), 400)
    return delete, None
