"""Video files in and out: LoadVideo (MP4/WebM/MOV/MKV, GIF, animated WebP, image folders) and
SaveVideo (MP4 H.264, WebM VP9, animated WebP, GIF, a PNG frame folder).

Containers and codecs go through PyAV, whose wheels bundle FFmpeg with libx264 and libvpx-vp9:
frames are encoded in-process from numpy arrays (no ffmpeg subprocess and pipe, as
imageio-ffmpeg would use), and container metadata can be written and read back directly.
GIF and animated WebP go through Pillow (FFmpeg's WebP decoder does not read animated files).

Provenance: an MP4 or WebM carries the workflow and the provenance (node versions, input-file
sha256s) as the metadata tags ``nodegraph.workflow`` / ``nodegraph.provenance``, an animated WebP
as EXIF text and a GIF (the workflow only) as its comment (``clip_meta.py``); every saved clip
also gets a sidecar ``<file>.json`` with both. ``nodegraph run clip.mp4`` (.webm, .webp, .gif)
re-runs the workflow.
"""
from __future__ import annotations

import json
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any, Literal

from nodegraph import FileInput, Node, NodeError, Socket, Widget, node
from nodegraph.files.roots import atomic_write
from nodegraph.graph.workflow import PNG_WORKFLOW_KEY

from .clip_meta import gif_comment, webp_exif
from .values import video_value

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".mkv", ".m4v", ".gif", ".webp")
DEFAULT_FPS = 8.0  # a frame folder, or a file that gives no rate
PROVENANCE_KEY = "nodegraph.provenance"
X264_THREADS = 4  # fixed, not the CPU count: x264's output depends on it (see write_av)
# x264's macroblock-tree ratecontrol reads uninitialised memory on tiny frames: a 64x64 clip
# encoded to other bytes with other heap contents (MALLOC_PERTURB_), 96x128 and larger did not.
X264_MBTREE_MIN_SIZE = 96


# --- reading ------------------------------------------------------------------------------------
@node("LoadVideo", category="video", outputs={"video": "VIDEO"})
class LoadVideo(Node):
    """Load a clip from the input folder: MP4/WebM/MOV/MKV, GIF, animated WebP, or a folder of
    images (sorted by name). `fps` 0 keeps the file's rate (folders: 8).

    Only the kept frames are decoded (video_read.py): a seek to `start_frame` where the file
    allows, every `every_nth` frame, and no further than `max_frames`. The frame size and count
    are checked from the header against the pixel budgets before anything is decoded."""
    video: str = FileInput("video", extensions=VIDEO_EXTENSIONS, description="file or folder of frames")
    start_frame: int = Widget(0, ge=0)
    every_nth: int = Widget(1, ge=1, le=100)
    max_frames: int = Widget(0, ge=0, description="0 = all (within the video pixel budget)")
    fps: float = Widget(0.0, ge=0.0, le=240.0, description="0 = the file's own rate")

    def run(self, ctx):
        from .video_read import Selection, VideoReadError, open_reader, read_clip
        path = ctx.env.files.resolve("video", self.video)
        if path is None:
            raise NodeError(f"video {self.video!r} not found", input="video")
        selection = Selection(self.start_frame, self.every_nth, self.max_frames)
        try:
            reader = open_reader(path, ctx.env.media_limits)
            try:
                frames, fps = read_clip(reader, selection, ctx.env.media_limits)
            finally:
                reader.close()
        except VideoReadError as exc:
            raise NodeError(f"video {self.video!r} {exc}", input="video") from None
        if frames is None:
            raise NodeError(f"video {self.video!r}: no frames left after start_frame={self.start_frame}",
                            input="start_frame")
        fps = self.fps or (fps or DEFAULT_FPS) / self.every_nth
        return {"video": video_value(frames, fps)}


# --- writing ------------------------------------------------------------------------------------
def to_uint8(frames) -> Any:
    import numpy as np
    return (frames.detach().float().clamp(0, 1).mul(255).round().to("cpu").numpy()).astype(np.uint8)


def _even(frames):
    """yuv420p needs even sizes: repeat the last row / column when one is odd."""
    import numpy as np
    h, w = frames.shape[1:3]
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else frames


def write_av(path: Path, frames, fps: float, codec: str, crf: int, tags: dict[str, str]) -> None:
    """Encode ``frames`` (uint8 [F, H, W, 3]) to ``path``; equal frames and tags give equal bytes.

    Byte-stable by construction: the muxer runs bitexact (no random Matroska segment UID, no
    muxer version tag, no creation time); frames reach the encoder as yuv420p computed here
    (``_yuv420p_frame``); x264 gets a fixed thread count (its bitstream depends on the number
    of frame threads, which FFmpeg would otherwise take from the CPU count; VP9 with row-mt does
    not) and no macroblock-tree on frames under ``X264_MBTREE_MIN_SIZE`` pixels. Other
    FFmpeg/x264 builds (another PyAV wheel) may encode differently.
    """
    import av
    frames = _even(frames)
    height, width = frames.shape[1:3]
    rate = Fraction(fps).limit_denominator(1001)
    fmt = "mp4" if codec == "libx264" else "webm"
    options = {"fflags": "+bitexact"}
    if fmt == "mp4":
        options["movflags"] = "+faststart+use_metadata_tags"
    with av.open(str(path), "w", format=fmt, options=options) as container:
        for key, value in tags.items():
            container.metadata[key] = value
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.codec_context.thread_count = X264_THREADS
            stream.options = {"crf": str(crf), "preset": "medium"}
            if min(width, height) < X264_MBTREE_MIN_SIZE:
                stream.options = {**stream.options, "x264-params": "no-mbtree=1"}
        else:
            stream.options = {"crf": str(crf), "b": "0", "row-mt": "1", "deadline": "good"}
        for array in frames:
            for packet in stream.encode(_yuv420p_frame(array)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _yuv420p_frame(rgb):
    """An encoder frame for RGB ``rgb`` [H, W, 3] (even sizes): BT.601 limited-range yuv420p
    (FFmpeg's default for RGB input), chroma averaged over 2x2 pixels, computed in numpy with a
    fixed order of IEEE operations, so it cannot depend on which SIMD path swscale picks on a
    given CPU (its fast paths are not bit-exact)."""
    import av
    import numpy as np
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16.0 + 0.256788 * r + 0.504129 * g + 0.097906 * b
    u = 128.0 - 0.148223 * r - 0.290993 * g + 0.439216 * b
    v = 128.0 + 0.439216 * r - 0.367788 * g - 0.071427 * b

    def half(c):
        return (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2]) * 0.25

    height, width = y.shape
    planes = np.concatenate([y.reshape(-1), half(u).reshape(-1), half(v).reshape(-1)])
    planes = np.clip(np.rint(planes), 0, 255).astype(np.uint8).reshape(height * 3 // 2, width)
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def write_pillow(path: Path, frames, fps: float, fmt: str, quality: int, tags: dict[str, str] | None = None) -> None:
    """An animated WebP or GIF; ``tags`` (the workflow, the provenance) go into the WebP's EXIF
    and the GIF's comment (``clip_meta.py``), where ``nodegraph run`` and the canvas read them."""
    from PIL import Image
    images = [Image.fromarray(a) for a in frames]
    duration = max(1, round(1000.0 / fps))
    kwargs = {"quality": quality, "method": 4} if fmt == "webp" else {"optimize": False}
    if tags and fmt == "webp":
        kwargs["exif"] = webp_exif(tags)
    elif tags and gif_comment(tags):
        kwargs["comment"] = gif_comment(tags)
    images[0].save(path, format=fmt.upper(), save_all=True, append_images=images[1:], duration=duration, loop=0,
                   **kwargs)


@node("SaveVideo", category="video", output_node=True)
class SaveVideo(Node):
    """Save a clip to the output folder: MP4 (H.264, yuv420p, plays in browsers), WebM (VP9),
    animated WebP or GIF, or a folder of PNG frames.

    The workflow and provenance go into the file (MP4/WebM tags, WebP EXIF, the GIF's comment)
    and, for every format, a sidecar `<file>.json`; `nodegraph run clip.mp4` (or .webm, .webp,
    .gif; or open it on the canvas) brings the workflow back.
    File names come from the node's cache key (the inputs and the output folder): the same
    workflow, inputs and output folder give the same name, and the same bytes in every format.
    """
    video: Any = Socket("VIDEO")
    prefix: str = Widget("nodegraph")
    format: Literal["mp4", "webm", "webp", "gif", "png"] = Widget("mp4")
    quality: int = Widget(18, ge=0, le=100, description="mp4/webm: CRF (lower is better, 18 ≈ visually "
                                                        "lossless); webp: 0-100 quality")

    def run(self, ctx):
        frames = to_uint8(self.video["frames"])
        fps = float(self.video["fps"])
        prefix = Path(self.prefix).name or "nodegraph"
        out_dir = ctx.env.output_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        tag = (ctx.cache_key or "")[:10]
        workflow = ctx.workflow
        provenance = ctx.provenance() if ctx.graph is not None else None
        tags = {}
        if workflow is not None:
            tags = {PNG_WORKFLOW_KEY: json.dumps(workflow, sort_keys=True),
                    PROVENANCE_KEY: json.dumps(provenance, sort_keys=True)}
        name = f"{prefix}_{tag}"
        path = out_dir / (name if self.format == "png" else f"{name}.{self.format}")
        sidecar = path.with_name(path.name + ".json")
        atomic_write(sidecar, json.dumps({"workflow": workflow, "provenance": provenance,
                                          "video": {"frames": int(frames.shape[0]), "fps": fps,
                                                    "width": int(frames.shape[2]), "height": int(frames.shape[1]),
                                                    "format": self.format}}, indent=1, sort_keys=True))
        if self.format == "png":  # a folder of frames, each written whole (behind the job in a GPU server)
            path.mkdir(exist_ok=True)
            ctx.write_files([(path / f"frame_{i:05d}.png", partial(write_png_frame, array))
                             for i, array in enumerate(frames)], record=False)
            ctx.record_file(path)
        else:
            if self.format in ("mp4", "webm"):
                crf = min(self.quality, 51 if self.format == "mp4" else 63)
                codec = "libx264" if self.format == "mp4" else "libvpx-vp9"
                encode = lambda tmp: write_av(tmp, frames, fps, codec, crf, tags)  # noqa: E731
            else:
                encode = lambda tmp: write_pillow(tmp, frames, fps, self.format, self.quality, tags)  # noqa: E731
            # On a writer thread, whole or not at all; in a GPU server while the next job runs.
            ctx.write_files([(path, encode)])
        ctx.ui["videos" if self.format in ("mp4", "webm") else "images" if self.format != "png" else "folders"] = \
            [path.name]
        return {}


def write_png_frame(array, path: Path) -> None:
    from PIL import Image
    Image.fromarray(array).save(path, format="PNG", compress_level=6)


def read_sidecar_workflow(media: str | Path) -> dict | None:
    """The workflow in ``<media>.json`` (written by SaveVideo), or None."""
    sidecar = Path(str(media) + ".json")
    if not sidecar.is_file():
        return None
    data = json.loads(sidecar.read_text())
    return data.get("workflow") if isinstance(data, dict) else None
