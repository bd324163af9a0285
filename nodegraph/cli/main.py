"""The command line: run, validate, convert, nodes, schema, serve (docs/cli.md).

Exit codes: 0 success, 1 a node failed, 2 invalid workflow or usage, 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from ..api.errors import UsageError, WorkflowInvalid
from ..run.executors import executor_named, executor_names
from ..run.gctune import collections_skipped
from ..run.media_limits import (DEFAULT_IMAGE_PIXELS, DEFAULT_VIDEO_PIXELS, IMAGE_ENV, IMAGE_FLAG, VIDEO_ENV,
                                VIDEO_FLAG, MediaLimits, parse_pixels)
from ..startup import started
from ..startup.device_check import check_device, chosen_auto_device
from ..startup.paths import default_cache_dir

EXIT_OK, EXIT_NODE_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors exit 2 with one clear line
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


class _ExecutorChoices:
    """``--executor``'s choices, looked up only when the option is given or help is shown:
    ``validate`` and ``nodes`` never read the executors' entry points."""

    def __contains__(self, name: object) -> bool:
        return name in executor_names()

    def __iter__(self):
        return iter(executor_names())


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__
    parser = _Parser(prog="nodegraph", description="Run and inspect node-graph workflows.")
    parser.add_argument("--version", action="version", version=f"nodegraph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add_plugins(p):
        p.add_argument("--plugins", action="append", default=[], metavar="DIR",
                       help="folder of plugin packs (repeatable; also $NODEGRAPH_PLUGINS)")
        p.add_argument("--comfy-nodes", action="append", default=[], metavar="DIR",
                       help="a ComfyUI custom_nodes folder: its node packs load as plugins (repeatable; "
                            "also $NODEGRAPH_COMFY_NODES)")

    def add_executor(p):
        p.add_argument("--executor", choices=_ExecutorChoices(), default="local",
                       help="where nodes run: this process, or a Ray cluster (pip install 'nodegraph[ray]')")
        p.add_argument("--address", default=None, metavar="ADDR",
                       help="with --executor ray: the cluster to join (auto, ray://host:port); default: "
                            "start a local Ray on 127.0.0.1")

    def add_cache_sizes(p):
        p.add_argument("--cache-memory", type=_size, default=4 << 30, metavar="SIZE",
                       help="memory tier size of the cache, in bytes or with a unit: 512M, 4G (default 4G)")
        p.add_argument("--cache-disk", type=_size, default=20 << 30, metavar="SIZE",
                       help="disk tier size of the cache; the oldest entries go first (default 20G)")

    def add_demo_models(p):
        p.add_argument("--demo-models", action="store_true",
                       help="run on the packs' tiny demo models instead of the checkpoints, VAEs and LoRAs the "
                            "workflow names (chosen by loader and file name): shows a workflow maps and runs "
                            "before any weights are downloaded")

    def add_media_limits(p):
        p.add_argument(IMAGE_FLAG, type=_pixels, default=None, metavar="PIXELS",
                       help="largest image (and video frame) a file input may be, checked from its header: "
                            f"a count, 50M or 8192x8192 (default {DEFAULT_IMAGE_PIXELS:,} = 8192x8192, or ${IMAGE_ENV})")
        p.add_argument(VIDEO_FLAG, type=_pixels, default=None, metavar="PIXELS",
                       help="frames x pixels a video input may keep (after start_frame, every_nth, max_frames) "
                            f"(default {DEFAULT_VIDEO_PIXELS:,} = 300 frames of 1080p, or ${VIDEO_ENV})")

    def add_dirs(p):
        p.add_argument("--input-dir", default=os.environ.get("NODEGRAPH_INPUT_DIR", "input"), metavar="DIR",
                       help="where image, task and other input files are looked up "
                            "(default ./input or $NODEGRAPH_INPUT_DIR)")
        p.add_argument("--models-dir", default=os.environ.get("NODEGRAPH_MODELS_DIR", "models"), metavar="DIR",
                       help="models folder: checkpoint(s)/, diffusers/, lora(s)/, vae/, embedding(s)/, llm/ as "
                            "nodegraph or ComfyUI lays them out (default ./models or $NODEGRAPH_MODELS_DIR)")

    run = sub.add_parser("run", help="run a workflow headless")
    run.add_argument("workflow", help="workflow file: nodegraph's .json or a ComfyUI workflow (UI or API format), "
                                      "or a PNG / MP4 / WebM / WebP / GIF that embeds one")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="NODE.INPUT=VALUE",
                     help="change one literal input before running (repeatable; VALUE is read by the input's "
                          "type, e.g. --set sampler.seed=7 --set prompt.prompt='a red fox')")
    run.add_argument("--sweep", action="append", default=[], metavar="NODE.INPUT=V1,V2,...",
                     help="run once per value (a range FROM:TO:STEP for numbers); several --sweep cross "
                          "(every combination) unless --zip; one job, shared nodes run once (docs/sweeps.md)")
    run.add_argument("--zip", action="store_true", help="pair the --sweep values (equal counts) instead of crossing")
    run.add_argument("--out", default="output", help="output folder (default ./output)")
    run.add_argument("--cache-dir", default=None, help="disk cache folder (default $NODEGRAPH_CACHE_DIR "
                                                       "or ~/.cache/nodegraph)")
    run.add_argument("--no-cache", action="store_true", help="turn both cache tiers off")
    add_cache_sizes(run)
    run.add_argument("--events", choices=["jsonl"], default=None, help="print JSON-lines events on stdout")
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                     help="where models run: cuda when torch sees a GPU under auto (the default); cuda "
                          "without one is an error before anything runs")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    run.add_argument("--profile", action="store_true", help="a per-node time table after the summary")
    run.add_argument("--traceback", action="store_true",
                     help="print a failed node's Python traceback under its error line (always logged to "
                          "<cache dir>/logs/errors.log)")
    run.add_argument("--compile", action="store_true",
                     help="fast mode: torch.compile the models (slow first run, faster steps; best in a server)")
    run.add_argument("--server", metavar="URL", default=None,
                     help="run on a nodegraph server (e.g. http://127.0.0.1:8188/ as `serve` prints it): events "
                          "stream here, outputs are copied into --out; cache, device and folders are the server's")
    run.add_argument("--token", default=None, help="the server's token (also from URL#token=T or $NODEGRAPH_TOKEN)")
    add_demo_models(run)
    add_executor(run)
    add_plugins(run)
    add_dirs(run)
    add_media_limits(run)

    validate = sub.add_parser("validate", help="check a workflow; print every problem")
    validate.add_argument("workflow", help="workflow file (nodegraph's or ComfyUI's; JSON, or a PNG / MP4 / "
                                           "WebM / WebP / GIF that embeds one)")
    validate.add_argument("--json", action="store_true", help="problems as a JSON list")
    add_demo_models(validate)
    add_plugins(validate)
    add_dirs(validate)

    convert = sub.add_parser("convert", help="convert a workflow (e.g. a ComfyUI one) to nodegraph's format, "
                                             "or to ComfyUI's API format")
    convert.add_argument("workflow", help="workflow file (nodegraph's or ComfyUI's; JSON, PNG, WebP, MP4)")
    convert.add_argument("-o", "--output", default=None, metavar="FILE", help="where to write (default: stdout)")
    convert.add_argument("--to", choices=["native", "comfyui-api"], default="native",
                         help="native: nodegraph's workflow file, layout kept (default); comfyui-api: ComfyUI's "
                              "API format, for graphs of ComfyUI nodes")
    add_plugins(convert)
    add_dirs(convert)

    nodes = sub.add_parser("nodes", help="list the node catalogue")
    nodes.add_argument("--json", action="store_true", help="the whole catalogue as JSON (for UIs)")
    add_plugins(nodes)
    add_dirs(nodes)  # ComfyUI packs list model and input files in their drop-downs

    sub.add_parser("schema", help="print the JSON Schema of the workflow file")

    serve = sub.add_parser("serve", help="serve the web canvas and the websocket API")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; anything else needs --token)")
    serve.add_argument("--port", type=int, default=8188, help="port (default 8188; 0 picks a free one)")
    serve.add_argument("--token", default=os.environ.get("NODEGRAPH_TOKEN"),
                       help="secret every client must present (also $NODEGRAPH_TOKEN); printed in the URL")
    serve.add_argument("--data-dir", default="nodegraph-data", help="queue database and uploads")
    serve.add_argument("--out", default="output", help="output folder (default ./output)")
    serve.add_argument("--cache-dir", default=None, help="disk cache folder (default $NODEGRAPH_CACHE_DIR "
                                                         "or ~/.cache/nodegraph)")
    add_cache_sizes(serve)
    serve.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                       help="where models run (auto: cuda when torch sees a GPU); checked at start")
    serve.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                       help="another Host name the server answers to (repeatable; DNS-rebinding allowlist)")
    serve.add_argument("--compile", action="store_true",
                       help="fast mode: torch.compile the models on first use, kept for every later job")
    serve.add_argument("--warmup", action="append", default=[], metavar="WORKFLOW",
                       help="run this workflow once at start-up, its outputs discarded, so the first job "
                            "finds its models loaded (and with --compile compiled); repeatable")
    serve.add_argument("--ui", choices=["nodegraph", "comfyui"], default="nodegraph",
                       help="the UI at /: nodegraph's canvas (default) or ComfyUI's own frontend "
                            "(pip install 'nodegraph[comfyui]'); ComfyUI's API is served either way")
    serve.add_argument("--web-dir", default=None, help="folder of the canvas (default: the installed one)")
    serve.add_argument("--max-message", type=int, default=None, metavar="BYTES",
                       help="largest websocket message, uploads included (default 32 MiB, or --max-upload plus 64 KiB)")
    serve.add_argument("--max-upload", type=_size, default=None, metavar="SIZE",
                       help="largest uploaded file, in bytes or with a unit: 512K, 20M (default 32M)")
    add_demo_models(serve)
    add_executor(serve)
    add_plugins(serve)
    add_dirs(serve)
    add_media_limits(serve)
    return parser


def _size(text: str) -> int:
    """A size option: plain bytes or a number with K/M/G/T (powers of 1024)."""
    from ..run.model_cache import parse_bytes
    try:
        value = parse_bytes(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (bytes, or a number with K, M, G or T)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a size cannot be negative")
    return value


def _pixels(text: str) -> int:
    try:
        return parse_pixels(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def media_limits(args) -> MediaLimits:
    """The environment's budgets with the command line's on top; a bad variable is a usage error."""
    try:
        limits = MediaLimits.from_env()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return limits.with_overrides(getattr(args, "max_image_pixels", None), getattr(args, "max_video_pixels", None))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = {"run": cmd_run, "validate": cmd_validate, "nodes": cmd_nodes, "schema": cmd_schema,
                "serve": cmd_serve, "convert": cmd_convert}[args.command](args)
    except BrokenPipeError:  # `nodegraph nodes | head`: the reader has all it wanted
        _drop_stdout()
        return EXIT_OK
    except UsageError as exc:
        print(f"nodegraph: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # `nodegraph run --events jsonl | head`: the run finished all the same
        _drop_stdout()
    return code


def console() -> None:
    """The ``nodegraph`` command: ``main``, then an exit that skips the interpreter's teardown
    after a run that loaded torch (``leave.py``)."""
    from .leave import leave
    leave(main())


def _drop_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _env(args, strict: bool = False):
    from ..run.context import Environment
    from ..files.roots import FileRoots
    roots = FileRoots(input_dir=Path(args.input_dir), models_dir=Path(args.models_dir),
                      output_dir=Path(getattr(args, "out", "output")), strict=strict)
    return Environment(files=roots, device=getattr(args, "device", "auto"))


def _warn_plugin(plugin: str, message: str) -> None:
    print(f"warning: plugin {plugin}: {message}", file=sys.stderr)


def _registry(args, only_entry_points=None):
    from ..api.plugins import load_registry
    from ..files.roots import FileRoots
    files = FileRoots(input_dir=Path(args.input_dir), models_dir=Path(args.models_dir),
                      output_dir=Path(getattr(args, "out", "output")))
    registry = load_registry(args.plugins, pack_folders={"comfy": args.comfy_nodes}, files=files,
                             only_entry_points=only_entry_points)
    for failure in registry.failures:
        _warn_plugin(failure.plugin, failure.message)
    return registry


def _stored_catalogue(args):
    """(stored catalogue or None, its key) for commands that only read the catalogue, when
    nothing but the installed nodegraph packs is asked for (no --plugins, --comfy-nodes or their
    environment variables, no ComfyUI packs installed with pip): see api/stored_catalogue.py.
    (None, None) otherwise."""
    from ..api import stored_catalogue
    from ..api.entry_points import installed_entry_points, installed_packs_exist
    from ..api.stored_catalogue import ENTRY_POINT_GROUP
    if args.plugins or args.comfy_nodes or any(k.startswith("NODEGRAPH_") and k.endswith(("_NODES", "_PLUGINS"))
                                               and v for k, v in os.environ.items()) or installed_packs_exist():
        return None, None
    key = stored_catalogue.catalogue_key(installed_entry_points(ENTRY_POINT_GROUP))
    return stored_catalogue.read(default_cache_dir(), key), key


def _full_catalogue(args, key):
    """Every pack loaded (warnings printed), and the result stored under ``key`` when given."""
    from ..api import stored_catalogue
    registry = _registry(args)
    if key is not None:
        stored_catalogue.store(default_cache_dir(), key, registry)
    return registry


def _pack_readers(args):
    """The loaded packs' workflow readers, loading the packs only if a file needs them
    (``run --server`` has no session, and a JSON workflow needs none)."""
    from ..api.plugins import load_registry
    yield from load_registry(args.plugins).workflow_readers


def _print_problems(problems, as_json_events: bool) -> None:
    for problem in problems:
        print(f"invalid: {problem}", file=sys.stderr)
        if as_json_events:
            print(json.dumps({"event": "error", "kind": "validation", **problem.to_json()}), flush=True)


def cmd_run(args) -> int:
    if args.server:
        return _run_remote(args)
    media_limits(args)  # a bad $NODEGRAPH_MAX_*_PIXELS is a usage error before anything starts
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    from ..run.context import fast_mode_from_env
    with started(cache_dir, fast=args.compile or fast_mode_from_env()):
        return _run_here(args, cache_dir)


def _run_here(args, cache_dir: Path) -> int:
    """``run`` in this process (or on its executor), inside ``started``."""
    from ..run.context import InterruptToken
    from ..comfyui import install as install_comfyui
    from ..run.session import Session

    jsonl = args.events == "jsonl"
    device = args.device
    if device == "cuda":  # settled before anything runs: one line and exit 2 when it cannot be had
        device, line = check_device(device)
        if not args.quiet:
            print(line, file=sys.stderr)
    session = Session.open(
        input_dir=args.input_dir, models_dir=args.models_dir, output_dir=args.out, device=device,
        cache_dir=cache_dir, cache_enabled=not args.no_cache,
        memory_bytes=args.cache_memory, disk_bytes=args.cache_disk, plugin_dirs=tuple(args.plugins),
        pack_folders={"comfy": tuple(args.comfy_nodes)}, on_plugin_failure=_warn_plugin,
        executor=executor_named(args.executor, args.address), demo_models=args.demo_models)
    install_comfyui(session)  # ComfyUI's workflow files, and ComfyUI's metadata in outputs saved for it
    session.env.compile = session.env.compile or args.compile
    session.env.media_limits = media_limits(args)
    token = InterruptToken()
    sink = _sinks(args, jsonl, cache_dir)
    stdout = sys.stdout
    if jsonl:  # stdout carries events only: stray prints (nodes, Ray's own notices) go to stderr
        sys.stdout = sys.stderr
    try:
        workflow = _with_sweep(args, session.registry)
        job = session.prepare(workflow, args.overrides, sink=sink, interrupt=token)
    except WorkflowInvalid as exc:
        sys.stdout = stdout
        _print_problems(exc.problems, jsonl)
        session.close()
        return EXIT_INVALID

    previous = signal.signal(signal.SIGINT, _on_sigint(token))
    try:
        result = session.execute(job)
    finally:
        signal.signal(signal.SIGINT, previous)
        with collections_skipped():  # the command ends next: no collection to free the models
            session.close()
        sys.stdout = stdout
    chosen = chosen_auto_device() if device == "auto" and not args.quiet else None
    if chosen:  # auto is resolved only once a node needed torch (a cached run never imports it)
        print(chosen, file=sys.stderr)
    return {"success": EXIT_OK, "failed": EXIT_NODE_FAILED, "interrupted": EXIT_INTERRUPTED}[result.status]


def _with_sweep(args, registry):
    """The workflow (a path, loaded here) with ``--sweep``/``--zip`` in place of its own sweep."""
    if not args.sweep:
        if args.zip:
            raise UsageError("--zip pairs --sweep values: give two --sweep or more")
        return args.workflow
    from ..graph.sweep import parse_sweep_args
    from ..graph.workflow import load_workflow
    workflow = load_workflow(args.workflow, registry.workflow_readers)
    return workflow.model_copy(update={"sweep": parse_sweep_args(workflow, args.sweep, args.zip, registry)})


def _sinks(args, jsonl: bool, cache_dir: Path):
    """JSON lines (--events jsonl), the human progress, and the traceback log of failed nodes."""
    from ..run.error_log import DEFAULT_NAME, ErrorLog
    from ..run.events import JsonlSink, fanout
    from .progress import HumanProgress
    log = ErrorLog(cache_dir / "logs" / DEFAULT_NAME)
    return fanout(JsonlSink(sys.stdout) if jsonl else None,
                  HumanProgress(sys.stderr, quiet=args.quiet, profile=args.profile, traceback=args.traceback,
                                log_path=str(log.path), cache_enabled=not args.no_cache), log)


def _on_sigint(token):
    def handler(signum, frame):
        if token.is_set:  # a second Ctrl-C stops at once
            signal.default_int_handler(signum, frame)
        token.set()
    return handler


def _run_remote(args) -> int:
    """``run --server``: the same sinks and exit codes as a local run; the server does the work."""
    from ..graph.overrides import apply_overrides
    from ..run.context import InterruptToken
    from .remote import RemoteRun

    jsonl = args.events == "jsonl"
    sink = _sinks(args, jsonl, Path(args.cache_dir) if args.cache_dir else default_cache_dir())
    remote = RemoteRun(args.server, args.token, Path(args.out), sink)
    token = InterruptToken()
    previous = signal.signal(signal.SIGINT, _on_sigint(token))
    try:
        try:
            workflow = _load_here(args)
            remote.connect()
            catalogue = remote.catalogue()
            if args.overrides:
                workflow = apply_overrides(workflow, args.overrides, catalogue)
            if args.sweep:
                from ..graph.sweep import parse_sweep_args
                workflow = workflow.model_copy(update={"sweep": parse_sweep_args(workflow, args.sweep, args.zip,
                                                                                 catalogue)})
            data = workflow.to_json()
            remote.upload_local_files(data, catalogue)
            remote.queue(data)
        except WorkflowInvalid as exc:
            _print_problems(exc.problems, jsonl)
            return EXIT_INVALID
        status = remote.stream(lambda: token.is_set)
    finally:
        signal.signal(signal.SIGINT, previous)
        remote.close()
    return {"success": EXIT_OK, "failed": EXIT_NODE_FAILED, "interrupted": EXIT_INTERRUPTED}[status]


def _load_here(args):
    """``run --server``: the workflow as the server takes it, converted here when it is not
    nodegraph's own (a ComfyUI file) with this machine's packs; demo models chosen here too."""
    from ..comfyui.load import load_any
    from ..graph.demo_models import use_demo_models
    from ..graph.workflow import load_workflow
    try:
        workflow = load_workflow(args.workflow, _pack_readers(args))
        registry = _registry(args) if args.demo_models else None
    except WorkflowInvalid as exc:
        if not any(p.code in ("bad_format", "unreadable") for p in exc.problems):
            raise
        registry = _registry(args)
        workflow = load_any(args.workflow, registry)
    return use_demo_models(workflow, registry) if args.demo_models else workflow


def cmd_validate(args) -> int:
    from ..comfyui.load import load_any
    from ..graph.bypass import apply_modes, merge_problems
    from ..graph.demo_models import use_demo_models
    from ..graph.validate import validate
    registry = _registry(args) if args.demo_models else _validation_registry(args)  # demo models: any pack's
    env = _env(args)
    try:
        workflow = load_any(args.workflow, registry)
        if args.demo_models:
            workflow = use_demo_models(workflow, registry, env)
        workflow, mode_problems = apply_modes(workflow, registry)
        problems = merge_problems(mode_problems, validate(workflow, registry, env))
    except WorkflowInvalid as exc:
        problems = exc.problems
    if args.json:
        print(json.dumps([p.to_json() for p in problems], indent=2))
    else:
        for problem in problems:
            print(problem)
    if problems:
        if not args.json:
            print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        return EXIT_INVALID
    if not args.json:
        print(f"ok: {args.workflow} is valid", file=sys.stderr)
    return EXIT_OK


def cmd_convert(args) -> int:
    """``convert``: any workflow file -> nodegraph's workflow (every node, layout kept) or ComfyUI's
    API format. Exit 2 with every problem when it does not convert."""
    from ..comfyui.api_format import workflow_to_api
    from ..comfyui.load import load_any, without_original
    registry = _registry(args)
    try:
        native = without_original(load_any(args.workflow, registry, to_run=False).to_json())
        data = workflow_to_api(native, registry) if args.to == "comfyui-api" else native
    except WorkflowInvalid as exc:
        for problem in exc.problems:
            print(f"invalid: {problem}", file=sys.stderr)
        return EXIT_INVALID
    text = json.dumps(data, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    from ..files.roots import atomic_write
    try:
        atomic_write(Path(args.output), text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output!r}: {exc}") from None
    print(f"wrote {args.output} ({'ComfyUI API format' if args.to == 'comfyui-api' else 'nodegraph workflow'}, "
          f"{len(data['nodes'] if args.to == 'native' else data)} nodes)", file=sys.stderr)
    return EXIT_OK


def _validation_registry(args):
    """The packs a workflow needs: with a stored catalogue, only those its node types come from
    (and those declaring their socket types, file kinds and demos); else every pack."""
    from ..api import stored_catalogue
    stored, key = _stored_catalogue(args)
    if stored is None:
        return _full_catalogue(args, key)
    named = _workflow_names(args.workflow)
    packs = stored_catalogue.packs_for(stored, *named) if named is not None else None
    return _registry(args, only_entry_points=packs) if packs is not None else _full_catalogue(args, key)


def _workflow_names(path) -> tuple[set[str], set[str]] | None:
    """The node types and ``demo:`` values a JSON workflow file names, read without validating
    it; None for any other file (a PNG or video: its reader comes from a pack) or one that does
    not parse (validation then reports it, after a full load)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = list(data["nodes"].values())
        types = {entry["type"] for entry in entries}
        demos = {v for entry in entries for v in entry.get("inputs", {}).values()
                 if isinstance(v, str) and v.startswith("demo:")}
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None  # whatever is wrong with the file, validation says it after a full load
    return (types, demos) if all(isinstance(t, str) for t in types) else None


def cmd_nodes(args) -> int:
    stored, key = _stored_catalogue(args)
    # As JSON either way, so a fresh load prints exactly what the stored catalogue would
    catalogue = stored["catalogue"] if stored is not None else \
        json.loads(json.dumps(_full_catalogue(args, key).catalogue(), default=str))
    if args.json:
        print(json.dumps(catalogue, indent=2, default=str))
        return EXIT_OK
    by_category: dict[str, list] = {}
    for entry in catalogue["nodes"]:
        by_category.setdefault(entry["category"], []).append(entry)
    print("inputs: name:TYPE required, name:TYPE=default may be left out, [name:TYPE] optional")
    for category in sorted(by_category):
        print(f"{category}:")
        for entry in sorted(by_category[category], key=lambda e: e["type"]):
            ins = ", ".join(_describe_input(item) for item in entry["inputs"])
            outs = (", ".join(f"{o['name']}:{o['type']}" for o in entry["outputs"])
                    or ("(output)" if entry["output_node"] else ""))
            print(f"  {entry['type']}({ins}) -> {outs}")
    return EXIT_OK


def _describe_input(item: dict) -> str:
    """``name:TYPE`` (required), ``name:TYPE=default`` or ``[name:TYPE]`` (optional, no default);
    ``item`` is the input's catalogue entry."""
    text = f"{item['name']}:{item['type']}"
    if item["required"]:
        return text
    value = item.get("default")
    if value is None or value == "":
        return f"[{text}]"
    default = json.dumps(value, default=str) if isinstance(value, str) else repr(value)
    if isinstance(value, bool):
        default = "true" if value else "false"
    return f"{text}={default if len(default) <= 28 else default[:24] + '…' + default[-1]}"


def cmd_schema(args) -> int:
    from ..graph.workflow import json_schema
    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_serve(args) -> int:
    try:
        from ..server.app import serve_forever
    except ImportError as exc:
        raise UsageError(f"the server is not available: {exc}") from None
    media_limits(args)  # a bad $NODEGRAPH_MAX_*_PIXELS is a usage error before the server starts
    if getattr(args, "ui", "nodegraph") == "comfyui" and not args.web_dir:
        from ..comfyui.frontend import FrontendMissing, frontend_dir
        try:
            frontend_dir()
        except FrontendMissing as exc:  # one line, before anything slow
            print(f"nodegraph serve: {exc}", file=sys.stderr)
            return EXIT_INVALID  # 2, as for every unusable serve setting
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    from ..run.context import fast_mode_from_env
    with started(cache_dir, fast=args.compile or fast_mode_from_env()):
        args.device, line = check_device(args.device)  # a server imports torch for its first job anyway
        print(line, file=sys.stderr, flush=True)
        return serve_forever(args)

