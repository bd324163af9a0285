"""Output nodes that only show something: PreviewAny (any value as text) and ImageCompare (two
images for the canvas' before/after slider). Neither keeps a file in the output folder."""
from __future__ import annotations

import json
from typing import Any

from nodegraph import ANY, Node, Socket, node
from nodegraph_nodes.basic.image import write_previews


def as_text(value: Any) -> str:
    """ComfyUI's rendering of a value: text as it is, numbers and booleans by str(), what JSON
    can write as indented JSON, anything else (tensors, handles) by str()."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    try:
        return json.dumps(value, indent=4)
    except (TypeError, ValueError):
        return str(value)


@node("PreviewAny", category="utilities", output_node=True, outputs={"string": "STRING"})
class PreviewAny(Node):
    """Show any value as text on the canvas; the text is also this node's STRING output."""
    source: Any = Socket(ANY)

    def run(self, ctx):
        text = as_text(self.source)
        ctx.ui["text"] = text
        return {"string": text}


@node("ImageCompare", category="image", output_node=True)
class ImageCompare(Node):
    """Two images side by side with a slider (ComfyUI's canvas); each is written as a preview PNG.
    Either may be left unlinked."""
    image_a: Any = Socket("IMAGE", optional=True)
    image_b: Any = Socket("IMAGE", optional=True)

    def run(self, ctx):
        shown = {"a_images": [], "b_images": []}
        if self.image_a is not None and len(self.image_a) > 0:
            shown["a_images"] = write_previews(ctx, self.image_a, "comfy.compare.a")
        if self.image_b is not None and len(self.image_b) > 0:
            shown["b_images"] = write_previews(ctx, self.image_b, "comfy.compare.b")
        ctx.ui.update(shown)
        return {}


# ComfyUI's ImageCompare has a third, UI-only input: the slider view (no value in its files).
COMFY_ALIASES = {
    "ImageCompare": {"type": "ImageCompare",
                     "inputs": {"image_a": "image_a", "image_b": "image_b", "compare_view": None},
                     "ui_specs": {"compare_view": ["IMAGECOMPARE", {}]}},
}
