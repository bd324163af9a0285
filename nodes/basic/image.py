"""Image basics: load from the input folder, resize, make a solid image, save PNGs with provenance.

IMAGE values are float tensors [batch, height, width, channels] in 0..1 (channels 3 or 4).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from nodegraph import FileInput, FileKind, Node, NodeError, Socket, SocketType, Widget, WorkflowReader, node
from nodegraph.api.types import is_tensor
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
    import numpy as np
    import torch
    array = np.asarray(pil_image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy())[None]


def tensor_to_pil(image) -> list:
    import numpy as np
    from PIL import Image
    arrays = (image.detach().float().clamp(0, 1).mul(255).round().to("cpu").numpy()).astype(np.uint8)
    return [Image.fromarray(a[..., :3] if a.shape[-1] >= 3 else a[..., 0]) for a in arrays]


@node("LoadImage", category="image", outputs={"image": "IMAGE"})
class LoadImage(Node):
    """Load an image from the input folder (or a pack's demo image, e.g. demo:svd-start-frame)."""
    image: str = FileInput("image", extensions=IMAGE_EXTENSIONS)

    def run(self, ctx):
        from PIL import Image, UnidentifiedImageError
        if ctx.env.demo(self.image) is not None:
            path = ctx.env.materialise(self.image)
        else:
            path = ctx.env.files.resolve("image", self.image)
        if path is None:
            raise NodeError(f"image {self.image!r} not found", input="image")
        try:
            with Image.open(path) as img:
                return {"image": image_to_tensor(img)}
        except (UnidentifiedImageError, OSError) as exc:
            raise NodeError(f"cannot read image {self.image!r}: {exc}", input="image") from None


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
    """
    images: Any = Socket("IMAGE")
    prefix: str = Widget("nodegraph")

    def run(self, ctx):
        from PIL.PngImagePlugin import PngInfo
        prefix = Path(self.prefix).name or "nodegraph"
        out_dir = ctx.env.output_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        info = PngInfo()
        if ctx.graph is not None:
            info.add_text(PNG_WORKFLOW_KEY, json.dumps(ctx.workflow, sort_keys=True))
            info.add_text(PNG_PROVENANCE_KEY, json.dumps(ctx.provenance(), sort_keys=True))
        tag = (ctx.cache_key or "")[:10]
        pictures = tensor_to_pil(self.images)
        paths = [out_dir / f"{prefix}_{tag}_{i:02d}.png" for i in range(len(pictures))]

        def writer(picture):
            return lambda tmp: picture.save(tmp, format="PNG", pnginfo=info, compress_level=6)

        # On writer threads (zlib releases the GIL: a batch encodes on several cores at once);
        # in a server the job goes on while they encode.
        ctx.write_files([(path, writer(picture)) for path, picture in zip(paths, pictures)])
        ctx.ui["images"] = [path.name for path in paths]
        return {}


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
