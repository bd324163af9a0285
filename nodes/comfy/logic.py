"""ComfySwitchNode (logic): one of two values, chosen by a boolean.

ComfyUI evaluates its two value inputs lazily: only the branch the switch selects runs. Here the
same holds when `switch` is a value in the workflow (a widget, or `--set N.switch=true`): the
other branch's link is dropped before planning, so nothing that only feeds it runs (see
``unneeded_links``). When `switch` itself is linked (e.g. from a PrimitiveBoolean), its value is
only known at run time and both branches run before the switch picks one.
"""
from __future__ import annotations

from typing import Any

from nodegraph import ANY, Node, NodeError, Socket, Widget, node


@node("ComfySwitchNode", category="logic", outputs={"output": ANY})
class ComfySwitchNode(Node):
    """`on_true` when `switch` is true, else `on_false`; only that branch needs to run."""
    switch: bool = Widget(False)
    on_false: Any = Socket(ANY)
    on_true: Any = Socket(ANY)

    @classmethod
    def unneeded_links(cls, literals: dict[str, Any]) -> set[str]:
        if "switch" not in literals:  # linked: decided at run time
            return set()
        return {"on_false"} if literals["switch"] else {"on_true"}

    def run(self, ctx):
        chosen = "on_true" if self.switch else "on_false"
        value = getattr(self, chosen, None)
        if value is None:
            raise NodeError(f"the switch is {bool(self.switch)} but {chosen} receives nothing", input=chosen)
        return {"output": value}
