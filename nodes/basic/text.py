"""Text nodes: join, template formatting, and writing text out."""
from __future__ import annotations

from pathlib import Path

from nodegraph import Node, NodeError, Widget, node
from nodegraph.files.roots import atomic_write


@node("JoinText", category="text", outputs={"text": "STRING"})
class JoinText(Node):
    """Join two texts with a separator."""
    a: str = Widget("", multiline=True)
    b: str = Widget("", multiline=True)
    separator: str = Widget(", ")

    def run(self, ctx):
        parts = [p for p in (self.a, self.b) if p]
        return {"text": self.separator.join(parts)}


@node("FormatText", category="text", outputs={"text": "STRING"})
class FormatText(Node):
    """Fill {a} and {b} in a template, e.g. 'a photo of {a}, {b}'."""
    template: str = Widget("{a}", multiline=True)
    a: str = Widget("")
    b: str = Widget("")

    def run(self, ctx):
        try:
            return {"text": self.template.format(a=self.a, b=self.b)}
        except (KeyError, IndexError, ValueError) as exc:
            raise NodeError(f"bad template: {exc!r}; use {{a}} and {{b}}", input="template") from None


@node("SaveText", category="text", output_node=True)
class SaveText(Node):
    """Write text to a file in the output folder."""
    text: str = Widget("", multiline=True)
    filename: str = Widget("text.txt")

    def run(self, ctx):
        name = Path(self.filename).name
        if not name:
            raise NodeError("filename is empty", input="filename")
        out = ctx.env.output_dir / name
        atomic_write(out, self.text)
        ctx.record_file(out)
        ctx.ui["text"] = self.text[:2000]
        return {}
