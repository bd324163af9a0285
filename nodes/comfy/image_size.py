"""GetImageSize: an IMAGE's width, height and batch size as INTs (to size latents and resizes)."""
from __future__ import annotations

from typing import Any

from nodegraph import Node, Socket, node


@node("GetImageSize", category="image",
      outputs={"width": "INT", "height": "INT", "batch_size": "INT"})
class GetImageSize(Node):
    """Width, height and batch size of an image batch ([batch, height, width, channels])."""
    image: Any = Socket("IMAGE")

    def run(self, ctx):
        batch, height, width = (int(n) for n in self.image.shape[:3])
        ctx.ui["text"] = f"width: {width}, height: {height}\n batch size: {batch}"
        return {"width": width, "height": height, "batch_size": batch}
