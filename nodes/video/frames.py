"""Frame utilities: pick frames, resize a clip, and convert between VIDEO and IMAGE batches."""
from __future__ import annotations

from typing import Any, Literal

from nodegraph import Node, NodeError, Socket, Widget, node
from nodegraph_nodes.basic.image import resize_images

from .values import make_video


def _index(video: dict, index: int, name: str) -> int:
    count = video["frames"].shape[0]
    resolved = index if index >= 0 else count + index
    if not 0 <= resolved < count:
        raise NodeError(f"frame {index} does not exist: the clip has {count} frames (0..{count - 1}, or -1 for the "
                        "last)", input=name)
    return resolved


@node("ExtractFrame", category="video", outputs={"image": "IMAGE"})
class ExtractFrame(Node):
    """One frame of a clip as an image (negative indices count from the end: -1 is the last)."""
    video: Any = Socket("VIDEO")
    index: int = Widget(0, ge=-100000, le=100000)

    def run(self, ctx):
        i = _index(self.video, self.index, "index")
        return {"image": self.video["frames"][i:i + 1].clone()}


@node("SelectFrames", category="video", outputs={"video": "VIDEO"})
class SelectFrames(Node):
    """Frames start..end (end exclusive; 0 = to the end) every `step`-th; fps follows the step."""
    video: Any = Socket("VIDEO")
    start: int = Widget(0, ge=0)
    end: int = Widget(0, ge=0, description="exclusive; 0 = the last frame included")
    step: int = Widget(1, ge=1, le=1000)

    def run(self, ctx):
        frames = self.video["frames"]
        picked = frames[self.start:(self.end or frames.shape[0]):self.step]
        if picked.shape[0] == 0:
            raise NodeError(f"no frames selected: the clip has {frames.shape[0]} frames", input="start")
        return {"video": make_video(picked, self.video["fps"] / self.step)}


@node("ResizeVideo", category="video", outputs={"video": "VIDEO"})
class ResizeVideo(Node):
    """Resize every frame to width × height."""
    video: Any = Socket("VIDEO")
    width: int = Widget(512, ge=1, le=8192, step=8)
    height: int = Widget(512, ge=1, le=8192, step=8)
    method: Literal["bilinear", "bicubic", "nearest", "area"] = Widget("bilinear")

    def run(self, ctx):
        return {"video": make_video(resize_images(self.video["frames"], self.width, self.height, self.method),
                                    self.video["fps"])}


@node("ImagesToVideo", category="video", outputs={"video": "VIDEO"})
class ImagesToVideo(Node):
    """An image batch as a clip at `fps` (one image per frame)."""
    images: Any = Socket("IMAGE")
    fps: float = Widget(8.0, ge=0.1, le=240.0)

    def run(self, ctx):
        return {"video": make_video(self.images[..., :3], self.fps)}


@node("VideoToImages", category="video", outputs={"images": "IMAGE", "fps": "FLOAT"})
class VideoToImages(Node):
    """A clip's frames as an image batch (e.g. for SaveImage), and its frame rate."""
    video: Any = Socket("VIDEO")

    def run(self, ctx):
        return {"images": self.video["frames"].clone(), "fps": float(self.video["fps"])}
