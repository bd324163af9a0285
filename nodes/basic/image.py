"""Image basics: load from the input folder, resize, make a solid image, save PNGs with provenance.

IMAGE values are float tensors [batch, height, width, channels] in 0..1 (channels 3 or 4).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from nodegraph import FileInput, FileKind, Node, NodeError, Socket, SocketType, Widget, WorkflowReader, node
from nodegraph.api.types import is_tensor
from nodegraph.files.numbering import expand_prefix, numbered_paths, output_folder
from nodegraph.graph.workflow import PNG_WORKFLOW_KEY

SOCKET_TYPES = [
    SocketType("IMAGE", description="float tensor [batch, height, width, channels] in 0..1",
               color="#64b5f6", check=lambda v: is_tensor(v) and v.dim() == 4),
    SocketType("MASK", description="float tensor [batch, height, width] in 0..1",
               color="#81c784", check=lambda v: is_tensor(v) and v.dim() == 3),
]
FILE_KINDS = [FileKind("image", "input", "pictures in the input folder (uploads land here)")]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
PNG_PROVENANCE_KEY = "nodegraph.provenance"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_to_tensor(pil_image) -> Any:
    """A Pillow image as an IMAGE tensor [1, H, W, 3] (no budget: for images made in memory)."""
    from .image_read import decode_rgb, rgb_to_tensor
    return rgb_to_tensor(decode_rgb(pil_image))[None]


def tensor_to_pil(image) -> list:
    import numpy as np
    from PIL import Image
    arrays = (image.detach().float().clamp(0, 1).mul(255).round().to("cpu").numpy()).astype(np.uint8)
    return [Image.fromarray(a[..., :3] if a.shape[-1] >= 3 else a[..., 0]) for a in arrays]


@node("LoadImage", category="image", outputs={"image": "IMAGE", "mask": "MASK"}, version=2)
class LoadImage(Node):
    """Load an image from the input folder (or a pack's demo image, e.g. demo:svd-start-frame).

    As ComfyUI's LoadImage: outputs the image and a mask from its alpha channel (1 where the
    picture is transparent; all 0 without alpha), in that slot order; an animated file gives
    its frames as a batch; EXIF rotation is applied.
    """
    image: str = FileInput("image", extensions=IMAGE_EXTENSIONS)

    def run(self, ctx):
        from .image_read import ImageReadError, check_frames, open_image
        if ctx.env.demo(self.image) is not None:
            path = ctx.env.materialise(self.image)
        else:
            path = ctx.env.files.resolve("image", self.image)
        if path is None:
            raise NodeError(f"image {self.image!r} not found", input="image")
        if path.is_dir():
            raise NodeError(f"image {self.image!r} is a folder, not an image file", input="image")
        limits = ctx.env.media_limits
        try:  # the size (and the frame count) is checked from the header before any pixel is decoded
            with open_image(path, limits.image_pixels) as img:
                check_frames(img, limits)
                return load_frames(img)
        except ImageReadError as exc:
            raise NodeError(f"image {self.image!r} {exc}", input="image") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated data, broken chunks
            raise NodeError(f"image {self.image!r} cannot be decoded (corrupt or truncated?): {exc}",
                            input="image") from None


def load_frames(img) -> dict[str, Any]:
    """{"image": [frames, H, W, 3], "mask": [frames, H, W]} of an opened picture: every frame of
    the first frame's size (as ComfyUI keeps them), mask = 1 - alpha. Each frame is converted
    once, into tensors allocated for the header's frame count."""
    import numpy as np
    import torch
    from PIL import ImageOps, ImageSequence

    from .image_read import decode_rgb, rgb_to_tensor
    count = getattr(img, "n_frames", 1)
    images = masks = size = None
    kept = 0
    for frame in ImageSequence.Iterator(img):
        frame = ImageOps.exif_transpose(frame)
        if size is None:
            size = frame.size
            images = torch.empty((count, size[1], size[0], 3), dtype=torch.float32)
            masks = torch.zeros((count, size[1], size[0]), dtype=torch.float32)
        elif frame.size != size:
            continue
        if frame.mode == "I":  # 16-bit greyscale: to 0..255 first, as ComfyUI does
            frame = frame.point(lambda v: v * (1 / 255))
        elif frame.mode == "P" and "transparency" in frame.info:  # a palette's transparent colour: alpha
            frame = frame.convert("RGBA")
        rgb_to_tensor(decode_rgb(frame), images[kept])
        if "A" in frame.getbands():
            alpha = np.asarray(frame.getchannel("A"), dtype=np.float32) / 255.0
            masks[kept] = 1.0 - torch.from_numpy(alpha.copy())
        kept += 1
    if kept < count:  # frames of another size were left out
        images, masks = images[:kept].clone(), masks[:kept].clone()
    return {"image": images, "mask": masks}


@node("SolidImage", category="image", outputs={"image": "IMAGE"})
class SolidImage(Node):
    """An image of one colour (useful as a start frame or test input)."""
    width: int = Widget(64, ge=1, le=8192)
    height: int = Widget(64, ge=1, le=8192)
    red: float = Widget(0.5, ge=0.0, le=1.0, step=0.01)
    green: float = Widget(0.5, ge=0.0, le=1.0, step=0.01)
    blue: float = Widget(0.5, ge=0.0, le=1.0, step=0.01)

    def run(self, ctx):
        import torch
        color = torch.tensor([self.red, self.green, self.blue], dtype=torch.float32)
        return {"image": color.expand(1, self.height, self.width, 3).clone()}


@node("ResizeImage", category="image", outputs={"image": "IMAGE"})
class ResizeImage(Node):
    """Resize an image batch to width × height."""
    image: Any = Socket("IMAGE")
    width: int = Widget(512, ge=1, le=8192, step=8)
    height: int = Widget(512, ge=1, le=8192, step=8)
    method: Literal["bilinear", "bicubic", "nearest", "area"] = Widget("bilinear")

    def run(self, ctx):
        return {"image": resize_images(self.image, self.width, self.height, self.method)}


def resize_images(images: Any, width: int, height: int, method: str) -> Any:
    """An image batch [B, H, W, C] (or a clip's frames) resized to height × width, in 0..1."""
    import torch.nn.functional as F
    kwargs = {"align_corners": False, "antialias": True} if method in ("bilinear", "bicubic") else {}
    resized = F.interpolate(images.movedim(-1, 1), size=(height, width), mode=method, **kwargs)
    return resized.clamp(0, 1).movedim(1, -1).contiguous()


@node("SaveImage", category="image", output_node=True)
class SaveImage(Node):
    """Save PNGs to the output folder with the workflow and provenance embedded.

    File names are derived from the node's cache key, so the same inputs give the same name
    (and a byte-identical file); drop the PNG on the canvas to get its workflow back.
    ``naming: comfyui`` (what ComfyUI's SaveImage, called with ``filename_prefix``, runs as) names
    them ``<prefix>_00001_.png`` after the highest number already there, sub-folders from the
    prefix, and embeds ComfyUI's ``prompt`` and ``workflow`` too, so the PNG opens in ComfyUI.
    """
    images: Any = Socket("IMAGE")
    prefix: str = Widget("nodegraph")
    naming: Literal["cache_key", "comfyui"] = Widget("cache_key", description="cache_key: <prefix>_<key>_NN.png, "
                                                     "the same name for the same inputs; comfyui: <prefix>_00001_.png")

    def run(self, ctx):
        pictures = tensor_to_pil(self.images)
        if self.naming == "comfyui":
            height, width = self.images.shape[1:3]
            try:
                folder, base, subfolder = output_folder(ctx.env.output_dir, expand_prefix(self.prefix, width, height))
            except ValueError as exc:
                raise NodeError(str(exc), input="prefix") from None
            paths = numbered_paths(folder, base, len(pictures), ".png", ctx.output_exists)
            info = _png_info(ctx, ctx.embedded_texts("comfyui"))
            ctx.ui["images"] = [{"filename": p.name, "subfolder": subfolder, "type": "output"} for p in paths]
        else:
            prefix = Path(self.prefix).name or "nodegraph"
            out_dir = ctx.env.output_dir
            out_dir.mkdir(parents=True, exist_ok=True)
            info = _png_info(ctx, {})
            tag = (ctx.cache_key or "")[:10]
            paths = [out_dir / f"{prefix}_{tag}_{i:02d}.png" for i in range(len(pictures))]
            ctx.ui["images"] = [path.name for path in paths]
        # On writer threads (zlib releases the GIL: a batch encodes on several cores at once);
        # in a server the job goes on while they encode.
        ctx.write_files([(path, _png_writer(picture, info, 6)) for path, picture in zip(paths, pictures)])
        return {}


@node("PreviewImage", category="image", output_node=True)
class PreviewImage(Node):
    """Show images on the canvas without keeping them: ComfyUI's PreviewImage. The PNGs go to
    the ``temp`` folder inside the output folder (``ComfyUI_temp_xxxxx_00001_.png``, fast
    compression), with the same metadata as SaveImage's."""
    images: Any = Socket("IMAGE")

    def run(self, ctx):
        ctx.ui["images"] = write_previews(ctx, self.images)
        return {}


def write_previews(ctx, images, label: str = "ComfyUI_temp") -> list[dict[str, str]]:
    """Write ``images`` as preview PNGs (``<label>_xxxxx_00001_.png`` in the temp folder, fast
    compression, SaveImage's metadata); ComfyUI's ``{filename, subfolder, type}`` of each."""
    import random
    import string
    pictures = tensor_to_pil(images)
    base = label + "_" + "".join(random.choice(string.ascii_lowercase) for _ in range(5))
    folder = ctx.env.output_dir / PREVIEW_FOLDER
    paths = numbered_paths(folder, base, len(pictures), ".png", ctx.output_exists)
    info = _png_info(ctx, ctx.embedded_texts("comfyui"))
    ctx.write_files([(path, _png_writer(picture, info, 1)) for path, picture in zip(paths, pictures)])
    return [{"filename": p.name, "subfolder": "", "type": "temp"} for p in paths]


PREVIEW_FOLDER = "temp"  # inside the output folder: what ComfyUI's API calls the "temp" folder

# ComfyUI callers of these nodes (docs/comfyui.md): its SaveImage names files its own way, and its
# LoadImage's upload widget is UI-only. ``inputs`` lists ComfyUI's inputs in ComfyUI's order (the
# order of its widgets_values).
COMFY_ALIASES = {
    # naming only names the files: a native SaveImage of either naming is ComfyUI's SaveImage
    "SaveImage": {"type": "SaveImage", "inputs": {"filename_prefix": "prefix"}, "set": {"naming": "comfyui"},
                  "naming_only": True},
    "LoadImage": {"type": "LoadImage", "inputs": {"image": "image", "upload": None}},
}


def _png_info(ctx, texts: dict[str, str]):
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    if ctx.graph is not None:
        info.add_text(PNG_WORKFLOW_KEY, json.dumps(ctx.workflow, sort_keys=True))
        info.add_text(PNG_PROVENANCE_KEY, json.dumps(ctx.provenance(), sort_keys=True))
    for key, text in texts.items():  # ComfyUI's own chunks: "prompt", "workflow"
        info.add_text(key, text)
    return info


def _png_writer(picture, info, level: int):
    return lambda tmp: picture.save(tmp, format="PNG", pnginfo=info, compress_level=level)


def png_workflow_text(path: str | Path) -> str | None:
    """The workflow JSON embedded in a PNG saved by SaveImage, or None."""
    from PIL import Image
    with Image.open(path) as img:
        return img.info.get(PNG_WORKFLOW_KEY) or None


def read_png_workflow(path: str | Path) -> dict | None:
    """The workflow embedded in a PNG saved by SaveImage, or None."""
    text = png_workflow_text(path)
    return json.loads(text) if text else None


# `nodegraph run picture.png`: the workflow SaveImage embedded.
WORKFLOW_READERS = [WorkflowReader("PNG", (".png",), png_workflow_text, sniff=lambda head: head.startswith(PNG_SIGNATURE))]
