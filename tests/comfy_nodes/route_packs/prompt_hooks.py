"""A pack with a prompt hook, as seed and wildcard packs write them: on every POST /prompt it
gets the request's JSON before validation and returns it rewritten. Asked to by
``extra_data.prompt_hooks``: "double" doubles every MathInt's ``b``, "fixed_seed" sets it to 1000;
"not_json" returns a body with a set in it (not JSON)."""
import json

from server import PromptServer


def rewrite(json_data):
    json_data = json.loads(json.dumps(json_data))  # a new object: the server must use what is returned
    extra = json_data.get("extra_data") or {}
    mode = extra.get("prompt_hooks") if isinstance(extra, dict) else None
    for node in json_data.get("prompt", {}).values():
        if node.get("class_type") == "MathInt" and isinstance(node["inputs"].get("b"), int):
            if mode == "double":
                node["inputs"]["b"] *= 2
            elif mode == "fixed_seed":
                node["inputs"]["b"] = 1000
    if mode:
        extra["prompt_hooks_seen"] = True
    if mode == "not_json":  # a rewrite the server cannot store or send: skipped like a failure
        json_data["extra_data"]["tags"] = {"a", "b"}
        json_data["prompt"]["2"]["inputs"]["b"] = 99
    return json_data


PromptServer.instance.add_on_prompt_handler(rewrite)

NODE_CLASS_MAPPINGS = {}
