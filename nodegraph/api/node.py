"""The node API: one small pydantic class per node, registered by the ``@node`` decorator.

Fields of the class are the node's inputs. Plain annotated fields (int, float, str, bool,
Literal[...] / Enum) are *widgets*: literals in the workflow file, validated by pydantic
with their bounds, or linked from a compatible output. ``Socket("IMAGE")`` declares an
input that must be linked. ``FileInput("lora")`` is a string naming a file the engine
resolves and fingerprints for the cache. Outputs are named and typed in the decorator.

    @node("Resize", category="image", outputs={"image": "IMAGE"})
    class Resize(Node):
        '''Resize an image batch.'''
        image: Any = Socket("IMAGE")
        width: int = Widget(512, ge=8, le=8192, step=8)

        def run(self, ctx):
            return {"image": ...}
"""
from __future__ import annotations

import enum
import functools
import hashlib
import inspect
import json
import types as pytypes
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined

from .types import ANY

if TYPE_CHECKING:  # pragma: no cover
    from ..run.context import RunContext

_EXTRA = "nodegraph"  # key inside json_schema_extra holding our input metadata


class _NeverCached:
    """``fingerprint`` returns ``NEVER_CACHED`` when the external state cannot be fingerprinted
    (it changes on every look): the node then runs every time, as a non-deterministic one does."""

    def __repr__(self) -> str:
        return "NEVER_CACHED"


NEVER_CACHED = _NeverCached()


def Socket(type: str, *, optional: bool = False, description: str = "") -> Any:
    """An input that takes a link from an output of a compatible socket type."""
    return Field(None if optional else PydanticUndefined, description=description,
                 json_schema_extra={_EXTRA: {"socket": type, "optional": optional}})


def Widget(default: Any = PydanticUndefined, *, ge: float | None = None, le: float | None = None,
           step: float | None = None, multiline: bool = False, description: str = "",
           socket: str | None = None, control_after_generate: bool = False) -> Any:
    """A literal input (number, text, enum, bool) with bounds and UI hints.

    ``control_after_generate``: a seed-like INT that ComfyUI's UI follows with a "fixed /
    randomize / increment / decrement" choice (its workflow files keep that choice as one extra
    ``widgets_values`` entry); in the catalogue as ``"control_after_generate": true``.
    """
    meta: dict[str, Any] = {}
    if control_after_generate:
        meta["control_after_generate"] = True
    if step is not None:
        meta["step"] = step
    if multiline:
        meta["multiline"] = True
    if socket:
        meta["socket"] = socket
    return Field(default, ge=ge, le=le, description=description, json_schema_extra={_EXTRA: meta})


def FileInput(kind: str, *, default: Any = PydanticUndefined, extensions: tuple[str, ...] = (),
              schemes: tuple[str, ...] = (), allow_hub_id: bool = False, directory: bool = False,
              optional: bool = False, description: str = "") -> Any:
    """A string naming a file (or folder) of ``kind`` (image, checkpoint, lora, ...).

    ``demo:NAME`` values name demo assets that packs register (any file input accepts the
    demos of its kind). ``schemes`` are other prefixes the node resolves itself; ``allow_hub_id`` accepts
    ``org/name`` ids that do not exist locally (loaded from a hub when the machine is online).
    """
    meta = {"file": kind, "extensions": list(extensions), "schemes": list(schemes),
            "allow_hub_id": allow_hub_id, "directory": directory}
    if optional and default is PydanticUndefined:
        default = ""
    return Field(default, description=description, json_schema_extra={_EXTRA: meta})


@dataclass(frozen=True)
class Output:
    type: str
    description: str = ""


@dataclass(frozen=True)
class Resources:
    """What one run of a node needs from a machine; read by distributed executors (Ray).

    ``gpus`` is asked for only when the job runs on a GPU device. ``models``: the node uses
    long-lived services (warm models), so it runs in a worker that keeps them between runs.
    """
    cpus: float = 1
    gpus: float = 0
    memory: int = 0  # bytes of RAM
    custom: tuple[tuple[str, float], ...] = ()  # e.g. (("gpu_a100", 1),): cluster-defined resources
    models: bool = False


@dataclass(frozen=True)
class InputSpec:
    """What the engine and the canvas need to know about one input."""
    name: str
    socket: str  # socket type accepted by links
    widget: str | None  # int, float, string, bool, enum, file; None for link-only inputs
    required: bool
    default: Any
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    multiline: bool = False
    control_after_generate: bool = False
    options: tuple[Any, ...] = ()
    file_kind: str | None = None
    extensions: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    allow_hub_id: bool = False
    directory: bool = False
    # The pydantic type of a literal input (``Annotated[annotation, its field]``). Its TypeAdapter
    # is built on first use: a catalogue of many nodes loads without one per input (~1 ms each).
    validates: Any = field(default=None, compare=False, repr=False)

    @property
    def adapter(self) -> TypeAdapter | None:
        adapter = self.__dict__.get("_adapter")
        if adapter is None and self.validates is not None:
            adapter = TypeAdapter(self.validates)
            object.__setattr__(self, "_adapter", adapter)
        return adapter

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.socket, "widget": self.widget,
                               "required": self.required, "description": self.description}
        if not self.required and self.default is not None:
            out["default"] = self.default
        for key in ("minimum", "maximum", "step"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.multiline:
            out["multiline"] = True
        if self.control_after_generate:
            out["control_after_generate"] = True
        if self.options:
            out["options"] = list(self.options)
        if self.file_kind:
            out["file"] = {"kind": self.file_kind, "extensions": list(self.extensions),
                           "schemes": list(self.schemes), "allow_hub_id": self.allow_hub_id,
                           "directory": self.directory}
        return out


class Node(BaseModel):
    """Base class of every node. Subclasses declare inputs as fields and implement ``run``."""

    # The engine never validates through the model (each input has its own adapter, built on
    # first use; instances come from ``instantiate``): its validator is built only if a node is
    # constructed directly, so loading a pack builds none (most of a pack's import time).
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True,
                              protected_namespaces=(), defer_build=True)

    # Set by @node.
    node_type: ClassVar[str] = ""
    category: ClassVar[str] = "misc"
    description: ClassVar[str] = ""
    version: ClassVar[int] = 1
    output_node: ClassVar[bool] = False
    deterministic: ClassVar[bool] = True
    outputs: ClassVar[dict[str, Output]] = {}
    inputs: ClassVar[dict[str, InputSpec]] = {}
    # None: the pack's default (``RESOURCES`` in the pack's module), else one CPU.
    resources: ClassVar[Resources | None] = None
    # True: an input linked to a list output receives the whole ``ValueList`` (api/lists.py);
    # False: the node runs once per item.
    accepts_lists: ClassVar[bool] = False
    # True: the class exists only in the process that built it (generated when a pack loaded),
    # so distributed executors run it where the job was prepared, never on a worker.
    local_only: ClassVar[bool] = False

    def run(self, ctx: "RunContext") -> dict[str, Any] | None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.run is not implemented")

    @classmethod
    def is_deterministic(cls, literals: dict[str, Any]) -> bool:
        """Override when determinism depends on inputs (e.g. a seed set to 'random')."""
        return cls.deterministic

    @classmethod
    def requirements(cls, literals: dict[str, Any]) -> Resources | None:
        """Override when what a run needs depends on inputs (e.g. image size)."""
        return cls.resources

    @classmethod
    def fingerprint(cls, literals: dict[str, Any], env: Any) -> Any:
        """Extra cache-key material (JSON-able) for external state the inputs do not show; None
        for none, ``NEVER_CACHED`` to run every time. An override that takes a ``node_id``
        keyword also gets the node's id."""
        return None

    @classmethod
    def resolve_file(cls, input_name: str, value: str, env: Any) -> Path | None:
        """The file or folder a file input names, for provenance hashes.

        ``demo:NAME`` values are the demo's files when already built (never built here); values
        with one of the input's own ``schemes`` are the node's business: override this for them.
        Return None when there is nothing on disk (yet). Cache keys do not use this.
        """
        if env.demo(value) is not None:
            return env.demo_path(value)
        spec = cls.inputs[input_name]
        if any(value.startswith(s) for s in spec.schemes):
            return None
        return env.files.resolve(spec.file_kind, value)

    @classmethod
    def unneeded_links(cls, literals: dict[str, Any]) -> set[str]:
        """Linked inputs these literals leave unread (a switch's other branch): their links are
        dropped before planning, so what only feeds them does not run. Override for lazy inputs."""
        return set()

    @classmethod
    def check_inputs(cls, literals: dict[str, Any], env: Any) -> list[tuple[str | None, str]]:
        """Node-specific validation of literal inputs: a list of (input name, message). An
        override that takes a ``node_id`` keyword also gets the node's id."""
        return []

    @classmethod
    def to_json(cls) -> dict[str, Any]:
        return {
            "type": cls.node_type, "category": cls.category, "description": cls.description,
            "version": cls.version, "output_node": cls.output_node,
            "deterministic": cls.deterministic,
            "inputs": [spec.to_json() for spec in cls.inputs.values()],
            "outputs": [{"name": n, "type": o.type, "description": o.description}
                        for n, o in cls.outputs.items()],
            "plugin": getattr(cls, "__plugin__", None),
        }


_SCALAR_SOCKETS = {int: ("INT", "int"), float: ("FLOAT", "float"), str: ("STRING", "string"),
                   bool: ("BOOLEAN", "bool")}



# pydantic evaluates every base class's annotations again for each model subclass, and under
# ``from __future__ import annotations`` each is a string it compiles anew: ~11 compilations per
# node class, a good part of importing a pack. Node's own, evaluated once here, are plain objects.
Node.__annotations__ = {name: eval(annotation, globals()) if isinstance(annotation, str) else annotation  # noqa: S307
                       for name, annotation in Node.__dict__["__annotations__"].items()}  # (our own source)

def _describe_input(name: str, info: Any) -> InputSpec:
    extra = (info.json_schema_extra or {}).get(_EXTRA, {}) if isinstance(info.json_schema_extra, dict) else {}
    annotation = info.annotation
    required = info.is_required()
    default = None if info.default is PydanticUndefined else info.default
    minimum = maximum = None
    for constraint in info.metadata:
        minimum = getattr(constraint, "ge", minimum) if getattr(constraint, "ge", None) is not None else minimum
        maximum = getattr(constraint, "le", maximum) if getattr(constraint, "le", None) is not None else maximum
    common = dict(name=name, required=required, default=default, description=info.description or "")
    if "optional" in extra:  # declared with Socket(): link-only
        return InputSpec(socket=extra["socket"], widget=None, **common)
    validates = typing.Annotated[annotation, info]
    if "file" in extra:
        return InputSpec(socket="STRING", widget="file", file_kind=extra["file"],
                         extensions=tuple(extra.get("extensions", ())), schemes=tuple(extra.get("schemes", ())),
                         allow_hub_id=extra.get("allow_hub_id", False), directory=extra.get("directory", False),
                         validates=validates, **common)
    options = _enum_options(annotation)
    if options is not None:
        return InputSpec(socket=extra.get("socket", "STRING"), widget="enum", options=options, validates=validates, **common)
    base = _strip_optional(annotation)
    if base in _SCALAR_SOCKETS:
        socket, widget = _SCALAR_SOCKETS[base]
        return InputSpec(socket=extra.get("socket", socket), widget=widget, minimum=minimum, maximum=maximum,
                         step=extra.get("step"), multiline=extra.get("multiline", False),
                         control_after_generate=extra.get("control_after_generate", False), validates=validates,
                         **common)
    # Any other annotation (lists, dicts): a JSON literal validated by pydantic.
    return InputSpec(socket=extra.get("socket", ANY), widget="json", validates=validates, **common)


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, pytypes.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _enum_options(annotation: Any) -> tuple[Any, ...] | None:
    annotation = _strip_optional(annotation)
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return tuple(m.value for m in annotation)
    return None


def node(type: str, *, category: str = "misc", outputs: dict[str, str | Output] | None = None,
         version: int = 1, output_node: bool = False, deterministic: bool = True,
         description: str | None = None) -> Callable[[type[Node]], type[Node]]:
    """Class decorator declaring a node type. The plugin loader collects decorated classes."""

    def decorate(cls: type[Node]) -> type[Node]:
        if not (inspect.isclass(cls) and issubclass(cls, Node)):
            raise TypeError(f"@node({type!r}) must decorate a subclass of nodegraph.Node")
        cls.node_type = type
        cls.category = category
        cls.version = version
        cls.output_node = output_node
        cls.deterministic = deterministic
        cls.description = description if description is not None else inspect.cleandoc(cls.__doc__ or "")
        cls.outputs = {n: (o if isinstance(o, Output) else Output(o)) for n, o in (outputs or {}).items()}
        cls.inputs = {n: _describe_input(n, info) for n, info in cls.model_fields.items()}
        cls.__nodegraph_node__ = True
        return cls

    return decorate


def instantiate(cls: type[Node], values: dict[str, Any]) -> Node:
    """A node instance from already-validated values, defaults filled in.

    Hand-written because ``model_construct`` costs ~8 µs per call, most of the engine's
    per-node budget; validation already happened once, for the whole workflow.
    """
    plan = cls.__dict__.get("_ng_construct")
    if plan is None:
        fixed, factories = {}, {}
        for name, info in cls.model_fields.items():
            if info.default_factory is not None:
                factories[name] = info.default_factory
            elif info.default is not PydanticUndefined:
                fixed[name] = info.default
        plan = cls._ng_construct = (fixed, factories)
    fixed, factories = plan
    data = {**fixed, **values}
    if factories:
        for name, factory in factories.items():
            if name not in values:
                data[name] = factory()
    obj = cls.__new__(cls)
    _set_attribute(obj, "__dict__", data)
    _set_attribute(obj, "__pydantic_fields_set__", set(values))
    _set_attribute(obj, "__pydantic_extra__", None)
    _set_attribute(obj, "__pydantic_private__", None)
    return obj


_set_attribute = object.__setattr__  # looked up once: this runs for every node


def normalise_literal(spec: InputSpec, value: Any) -> Any:
    """``value`` coerced by the input's declared type; raises pydantic's ValidationError.

    Strict: ``1`` becomes ``1.0`` for a float, but ``"4"`` is never an int and ``1`` never a
    bool. Enums and JSON inputs are validated in JSON mode (strict too), where a list may
    fill a tuple and an enum's value names its member.
    """
    if spec.widget in ("enum", "json"):
        try:  # the common case, without a round trip through JSON text
            return spec.adapter.validate_python(value, strict=True)
        except ValidationError:
            return spec.adapter.validate_json(json.dumps(value), strict=True)
    return spec.adapter.validate_python(value, strict=True)


def widget_defaults(cls: type[Node]) -> dict[str, Any]:
    """The normalised default of every optional literal input of ``cls`` (a fresh dict).

    Inputs whose default comes from a factory are left out: the instance builds those.
    """
    defaults = cls.__dict__.get("_ng_widget_defaults")
    if defaults is None:
        defaults = {}
        for name, spec in cls.inputs.items():
            info = cls.model_fields[name]
            if spec.widget is None or spec.required or info.default_factory is not None:
                continue
            try:
                defaults[name] = normalise_literal(spec, spec.default) if spec.default is not None else None
            except Exception:  # noqa: BLE001 - a default its own type refuses is kept as declared
                defaults[name] = spec.default
        cls._ng_widget_defaults = defaults
    return dict(defaults)


def implementation_digest(cls: type[Node], extra_files: Any = ()) -> str:
    """Hash of the source of ``cls``'s module (plus ``extra_files``: the rest of its pack).

    Part of every cache key next to ``version``, so editing a node's code invalidates its
    cached results without a version bump. Computed once per class (the first registration).
    """
    digest = cls.__dict__.get("_ng_code")
    if digest is None:
        files: set[str] = {str(f) for f in extra_files}
        try:
            files.add(inspect.getsourcefile(cls) or "")
        except TypeError:  # defined where there is no source file (an interactive session)
            pass
        h = hashlib.blake2b(digest_size=12)
        for path in sorted(f for f in files if f):
            try:
                with open(path, "rb") as fh:
                    h.update(fh.read() + b"\0")  # content only: the same code anywhere keys alike
            except OSError:
                continue
        digest = cls._ng_code = h.hexdigest()
    return digest


def takes_node_id(hook: Any) -> bool:
    """Whether a hook (``fingerprint``, ``check_inputs``) declares a ``node_id`` parameter.

    Asked once per node of every job: the answer is kept per function (a classmethod's bound
    method is new on each access, its ``__func__`` is not), since ``inspect.signature`` costs
    ~80 µs, four times the rest of a node's validation.
    """
    return _declares_node_id(getattr(hook, "__func__", hook))


@functools.lru_cache(maxsize=4096)
def _declares_node_id(func: Any) -> bool:
    try:
        return "node_id" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def is_node_class(obj: Any) -> bool:
    return inspect.isclass(obj) and issubclass(obj, Node) and obj.__dict__.get("__nodegraph_node__", False)
