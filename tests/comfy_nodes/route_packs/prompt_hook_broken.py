"""A pack whose prompt hook is broken: it raises on every prompt (after changing the body in
place). ComfyUI logs it and goes on with the prompt as it was; so must nodegraph."""
from server import PromptServer


def broken_hook(json_data):
    json_data["extra_data"] = "spoiled by a broken hook"  # must not survive the failure
    raise RuntimeError("prompt_hook_broken always fails")


PromptServer.instance.add_on_prompt_handler(broken_hook)

NODE_CLASS_MAPPINGS = {}
