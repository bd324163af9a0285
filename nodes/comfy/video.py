"""ComfyUI's animation and video nodes: SaveAnimatedWEBP, SaveAnimatedPNG, CreateVideo,
GetVideoComponents (ComfyUI's SaveVideo is the video pack's SaveVideo: ``COMFY_ALIASES``).

SaveAnimatedWEBP writes what ComfyUI writes: ``<prefix>_<counter:05>_.webp`` in the output folder
(a prefix may hold sub-folders), frames at `fps`, with the EXIF tags ComfyUI uses for metadata:
0x0110 = "prompt:" + the API-format prompt, 0x010F = "workflow:" + the workflow: ComfyUI's API
prompt of what ran and the ComfyUI UI workflow the job came from, if it came from one
(``ctx.embedded_texts("comfyui")``, where the session has ComfyUI support installed; the nodegraph
workflow otherwise); nodegraph's provenance goes into the EXIF UserComment. SaveAnimatedPNG writes an APNG
with "prompt" / "workflow" text chunks the same way. VIDEO values are the video pack's
``{"frames", "fps"}``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from nodegraph import Node, NodeError, Socket, Widget, node
from nodegraph_nodes.video.values import make_video

WEBP_METHODS = {"default": 4, "fastest": 0, "slowest": 6}


def comfy_texts(ctx) -> dict[str, str]:
    """The "prompt" and "workflow" texts ComfyUI readers look for, and nodegraph's provenance."""
    if ctx.graph is None:
        return {}
    workflow = json.dumps(ctx.workflow or {}, sort_keys=True)
    # ComfyUI's own prompt (API format) and UI workflow where the session has ComfyUI support
    # installed (the CLI and the server do: nodegraph.comfyui.install), else nodegraph's workflow.
    comfy = ctx.embedded_texts("comfyui")
    texts = {"prompt": comfy["prompt"], **({"workflow": comfy["workflow"]} if "workflow" in comfy else {})} \
        if "prompt" in comfy else {"prompt": workflow, "workflow": workflow}
    return {**texts, "nodegraph.provenance": json.dumps(ctx.provenance(), sort_keys=True)}


def counter_path(out_dir: Path, prefix: str, extension: str) -> Path:
    """ComfyUI's naming: ``<folder>/<name>_<counter:05>_.<ext>``, the counter one past the highest
    existing one of that name. A prefix may name sub-folders; it may not leave the output folder."""
    prefix = prefix or "ComfyUI"
    relative = Path(prefix)
    if relative.is_absolute() or ".." in relative.parts:
        raise NodeError(f"filename_prefix {prefix!r} leaves the output folder", input="filename_prefix")
    folder = out_dir / relative.parent
    name = relative.name or "ComfyUI"
    pattern = re.compile(rf"^{re.escape(name)}_(\d+)_\.")
    taken = [int(m.group(1)) for p in (folder.iterdir() if folder.is_dir() else ()) if (m := pattern.match(p.name))]
    return folder / f"{name}_{max(taken, default=0) + 1:05d}_.{extension}"


def _pictures(images) -> list:
    from nodegraph_nodes.basic.image import tensor_to_pil
    return tensor_to_pil(images)


@node("SaveAnimatedWEBP", category="image/animation", output_node=True)
class SaveAnimatedWEBP(Node):
    """Save images as one animated WebP (ComfyUI's naming and EXIF metadata)."""
    images: Any = Socket("IMAGE")
    filename_prefix: str = Widget("ComfyUI")
    fps: float = Widget(6.0, ge=0.01, le=1000.0, step=0.01)
    lossless: bool = Widget(True)
    quality: int = Widget(80, ge=0, le=100)
    method: Literal["default", "fastest", "slowest"] = Widget("default")

    def run(self, ctx):
        from PIL import Image
        pictures = _pictures(self.images)
        texts = comfy_texts(ctx)
        exif = Image.Exif()
        if texts:
            exif[0x0110] = "prompt:" + texts["prompt"]
            if "workflow" in texts:  # ComfyUI opens a file by its workflow first, else its prompt
                exif[0x010F] = "workflow:" + texts["workflow"]
            exif[0x9286] = texts["nodegraph.provenance"]
        path = counter_path(ctx.env.output_dir, self.filename_prefix, "webp")

        def write(tmp):
            pictures[0].save(tmp, format="WEBP", save_all=True, append_images=pictures[1:], duration=int(1000.0 / self.fps),
                             loop=0, lossless=self.lossless, quality=self.quality, method=WEBP_METHODS[self.method],
                             exif=exif)
        ctx.write_files([(path, write)])
        ctx.ui["images"] = [str(path.relative_to(ctx.env.output_dir))]
        ctx.ui["animated"] = [True]
        return {}


@node("SaveAnimatedPNG", category="image/animation", output_node=True)
class SaveAnimatedPNG(Node):
    """Save images as one animated PNG (ComfyUI's naming; "prompt"/"workflow" text chunks)."""
    images: Any = Socket("IMAGE")
    filename_prefix: str = Widget("ComfyUI")
    fps: float = Widget(6.0, ge=0.01, le=1000.0, step=0.01)
    compress_level: int = Widget(4, ge=0, le=9)

    def run(self, ctx):
        from PIL.PngImagePlugin import PngInfo
        pictures = _pictures(self.images)
        info = PngInfo()
        for key, text in comfy_texts(ctx).items():
            info.add_text(key, text)
        path = counter_path(ctx.env.output_dir, self.filename_prefix, "png")

        def write(tmp):
            pictures[0].save(tmp, format="PNG", save_all=True, append_images=pictures[1:], duration=int(1000.0 / self.fps),
                             loop=0, pnginfo=info, compress_level=self.compress_level)
        ctx.write_files([(path, write)])
        ctx.ui["images"] = [str(path.relative_to(ctx.env.output_dir))]
        ctx.ui["animated"] = [True]
        return {}


# ComfyUI's CreateVideo/GetVideoComponents choices (its current contract). nodegraph's VIDEO is
# 8-bit sRGB frames: the other choices are refused at validation, never silently replaced.
BIT_DEPTHS = ("auto", 8, 10)
COLOR_SPACES = ("sRGB", "HDR", "HDR PQ")
VIDEO_CODECS = ("none", "auto", "h264", "av1")


@node("CreateVideo", category="image/video", outputs={"video": "VIDEO"})
class CreateVideo(Node):
    """A video from images at `fps`, 8-bit sRGB (audio is not supported: the input is accepted
    only unlinked; `codec` is left to the saver, which encodes H.264)."""
    images: Any = Socket("IMAGE")
    fps: float = Widget(30.0, ge=1.0, le=120.0, step=1.0)
    audio: Any = Socket("AUDIO", optional=True)
    bit_depth: Literal[BIT_DEPTHS] = Widget("auto", socket="*")  # type: ignore[valid-type]
    color_space: Literal[COLOR_SPACES] = Widget("sRGB", socket="*")  # type: ignore[valid-type]
    codec: Literal[VIDEO_CODECS] = Widget("none")  # type: ignore[valid-type]

    @classmethod
    def check_inputs(cls, literals, env):
        problems = []
        if literals.get("bit_depth") == 10:
            problems.append(("bit_depth", "10-bit video is not supported (nodegraph's VIDEO holds 8-bit frames); "
                                          "supported: auto, 8"))
        if literals.get("color_space", "sRGB") != "sRGB":
            problems.append(("color_space", f"{literals['color_space']!r} (HDR) is not supported; supported: sRGB"))
        if literals.get("codec") == "av1":
            problems.append(("codec", "'av1' is not supported (videos are saved as H.264); supported: none, auto, "
                                      "h264"))
        return problems

    def run(self, ctx):
        if self.audio is not None:
            raise NodeError("audio is not supported: nodegraph's VIDEO holds frames and a frame rate", input="audio")
        if self.bit_depth == 10 or self.color_space != "sRGB":  # linked values reach here unchecked
            raise NodeError(f"only 8-bit sRGB video is supported (got {self.bit_depth}, {self.color_space})",
                            input="bit_depth" if self.bit_depth == 10 else "color_space")
        return {"video": make_video(self.images[..., :3], self.fps)}


@node("GetVideoComponents", category="image/video",
      outputs={"images": "IMAGE", "audio": "AUDIO", "fps": "FLOAT", "bit_depth": "*", "color_space": "*"})
class GetVideoComponents(Node):
    """A video's frames, audio (always none here), frame rate, bit depth (8) and colour space (sRGB)."""
    video: Any = Socket("VIDEO")

    def run(self, ctx):
        return {"images": self.video["frames"], "audio": None, "fps": float(self.video["fps"]), "bit_depth": 8,
                "color_space": "sRGB"}
