"""ComfyUI's own nodes that custom-node packs most often call or subclass. The image nodes
(``nodes.SaveImage``, ``nodes.PreviewImage``, ``nodes.LoadImage``) are written here to ComfyUI's V1 contract: the same
inputs, function names, attributes a subclass sets (``output_dir``, ``type``, ``prefix_append``,
``compress_level``) and file naming. They are classes for packs to build on, not node types of
their own: a pack that lists one (or a subclass) in its ``NODE_CLASS_MAPPINGS`` gets it adapted
like any of its classes.

The loaders (``NATIVE_FUNCTIONS``) are the comfy pack's nodes of those names behind ComfyUI's
contract: ``INPUT_TYPES`` as ``/object_info`` describes them, ComfyUI's function name
(``load_checkpoint``...) running the native node in the calling node's context.

Written for nodegraph (no ComfyUI code): torch, numpy and Pillow are imported when a node runs.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import copy
import string
from typing import Any

from . import folder_paths


class SaveImage:
    """PNGs in the output folder, ``<prefix>_<counter:05>_.png``, with the prompt and the extra
    PNG info (the workflow) as text chunks; listed in the returned ``ui``."""

    def __init__(self) -> None:
        self.output_dir = folder_paths.get_output_directory()
        self.type = "output"
        self.prefix_append = ""
        self.compress_level = 4

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"images": ("IMAGE", {"tooltip": "the images to save"}),
                             "filename_prefix": ("STRING", {"default": "ComfyUI",
                                                            "tooltip": "file name prefix; %date:...% etc. and subfolders allowed"})},
                "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}}

    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image"
    DESCRIPTION = "Saves the input images to your output folder."

    def save_images(self, images, filename_prefix: str = "ComfyUI", prompt: Any = None,
                    extra_pnginfo: dict | None = None) -> dict[str, Any]:
        import numpy as np
        from PIL import Image
        from PIL.PngImagePlugin import PngInfo

        filename_prefix += self.prefix_append
        height, width = int(images[0].shape[0]), int(images[0].shape[1])
        folder, stem, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, self.output_dir,
                                                                               width, height)
        saved = []
        for index, image in enumerate(images):
            pixels = np.clip(255.0 * image.cpu().numpy(), 0, 255).astype(np.uint8)
            info = PngInfo()
            if prompt is not None:
                info.add_text("prompt", json.dumps(prompt))
            for key, value in (extra_pnginfo or {}).items():
                info.add_text(key, json.dumps(value))
            name = f"{stem.replace('%batch_num%', str(index))}_{counter:05}_.png"
            Image.fromarray(pixels).save(os.path.join(folder, name), pnginfo=info, compress_level=self.compress_level)
            saved.append({"filename": name, "subfolder": subfolder, "type": self.type})
            counter += 1
        return {"ui": {"images": saved}}


class PreviewImage(SaveImage):
    """The same PNGs in the temp folder (fast compression, a random suffix): shown, not kept."""

    def __init__(self) -> None:
        super().__init__()
        self.output_dir = folder_paths.get_temp_directory()
        self.type = "temp"
        self.prefix_append = "_temp_" + "".join(random.choices(string.ascii_lowercase, k=5))
        self.compress_level = 1

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"images": ("IMAGE",)}, "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}}

    DESCRIPTION = "Shows the input images (saved to the temp folder)."


class LoadImage:
    """An image of the input folder as an IMAGE batch (every frame of an animation that keeps
    one size) and its MASK: 1 where the alpha channel is transparent, a 64×64 zero mask when it
    has none."""

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        folder = folder_paths.get_input_directory()
        files = sorted(f for f in os.listdir(folder) if os.path.isfile(os.path.join(folder, f))) \
            if os.path.isdir(folder) else []
        return {"required": {"image": (files, {"image_upload": True})}}

    CATEGORY = "image"
    RETURN_TYPES = ("IMAGE", "MASK")
    FUNCTION = "load_image"

    def load_image(self, image: str):
        import numpy as np
        import torch
        from PIL import Image, ImageOps, ImageSequence

        from nodegraph.run.media_limits import MediaLimits, megapixels

        path = folder_paths.get_annotated_filepath(image)
        budget = MediaLimits.from_env().image_pixels
        pictures, masks, size = [], [], None
        with Image.open(path) as opened:
            if opened.width * opened.height > budget:
                raise ValueError(f"{image} is {opened.width}×{opened.height}, over the image budget of "
                                 f"{megapixels(budget)} pixels")
            for frame in ImageSequence.Iterator(opened):
                frame = ImageOps.exif_transpose(frame)
                if frame.mode == "I":  # 16-bit greyscale PNGs
                    frame = frame.point(lambda v: v * (1 / 255))
                rgb = frame.convert("RGB")
                if size is None:
                    size = rgb.size
                elif rgb.size != size:  # frames of another size are left out
                    continue
                pictures.append(torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0)[None])
                if "A" in frame.getbands():
                    alpha = np.asarray(frame.getchannel("A"), dtype=np.float32) / 255.0
                    masks.append(1.0 - torch.from_numpy(alpha)[None])
                else:
                    masks.append(torch.zeros((1, 64, 64), dtype=torch.float32))
        if len(pictures) == 1:
            return pictures[0], masks[0]
        return torch.cat(pictures, dim=0), torch.cat(masks, dim=0)

    @classmethod
    def IS_CHANGED(cls, image: str) -> str:
        with open(folder_paths.get_annotated_filepath(image), "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()

    @classmethod
    def VALIDATE_INPUTS(cls, image: str) -> bool | str:
        if not folder_paths.exists_annotated_filepath(image):
            return f"Invalid image file: {image}"
        return True


# ComfyUI's function name of each core node a pack may subclass, served by the comfy pack's node.
NATIVE_FUNCTIONS = {"CheckpointLoaderSimple": "load_checkpoint", "LoraLoader": "load_lora",
                    "LoraLoaderModelOnly": "load_lora_model_only"}


def native_class(name: str, call: Any) -> type:
    """``nodes.<name>`` for packs: a ComfyUI V1 class over the catalogue's node ``name``, made once
    per load (subclasses made at import keep it)."""
    made = call.natives.get(name)
    if made is not None:
        return made
    native = call.registry.get(name) if call.registry is not None else None
    if native is None:
        raise AttributeError(f"nodes.{name} is one of ComfyUI's own nodes; the pack that provides it "
                             "(builtin.comfy) is not loaded")
    from nodegraph.comfyui.object_info import node_info
    files, demos = call.files, call.registry.demos.values()

    def choices(file: dict) -> list[str]:  # the files of its kind, then the packs' demos of it
        kind = file["kind"]
        return files.listing(kind, tuple(file.get("extensions") or ())) + sorted(d.value for d in demos if d.kind == kind)

    info = node_info(native.to_json(), choices)
    inputs = {"required": info["input"]["required"], "optional": info["input"]["optional"]}

    def input_types(cls) -> dict[str, Any]:
        return copy.deepcopy(inputs)  # a subclass may change what it gets

    order = [*inputs["required"], *inputs["optional"]]

    def run(self, *args: Any, **values: Any) -> tuple:  # positional arguments in ComfyUI's input order
        return _run_native(name, {**dict(zip(order, args)), **values})

    function = NATIVE_FUNCTIONS[name]
    made = call.natives[name] = type(name, (), {
        "__doc__": native.description, "__module__": __name__, "INPUT_TYPES": classmethod(input_types),
        "RETURN_TYPES": tuple(info["output"]), "FUNCTION": function,  # unnamed outputs, as ComfyUI's loaders
        "CATEGORY": info["category"], "DESCRIPTION": info["description"], function: run})
    return made


def _run_native(name: str, values: dict[str, Any]) -> tuple:
    """The catalogue's node ``name`` run on ``values`` (literals checked by its declared types),
    inside the node call in progress; its outputs in ComfyUI's slot order."""
    from nodegraph.api.errors import NodeError
    from nodegraph.api.node import instantiate, normalise_literal, widget_defaults
    from nodegraph.comfyui.surface import current

    call = current()
    native = call.registry.get(name) if call.registry is not None else None
    if call.ctx is None or native is None:
        raise RuntimeError(f"nodes.{name}.{NATIVE_FUNCTIONS[name]} runs only inside a running node")
    inputs = dict(widget_defaults(native))
    for key, value in values.items():
        spec = native.inputs.get(key)
        if spec is None:
            continue  # an input a subclass added: its own business
        try:
            inputs[key] = normalise_literal(spec, value) if spec.widget is not None else value
        except ValueError as exc:  # pydantic's ValidationError too
            raise NodeError(f"{name}: {key}={value!r} is refused: {exc}", input=key) from None
    outputs = instantiate(native, inputs).run(call.ctx)
    return tuple(outputs[output] for output in native.outputs)
