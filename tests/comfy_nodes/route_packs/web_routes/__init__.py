"""A custom-node pack that adds HTTP routes, written as ComfyUI packs do: aiohttp handlers
registered on ``PromptServer.instance.routes`` at import (the server mounts them)."""
from aiohttp import web

from server import PromptServer

WEB_DIRECTORY = "./js"  # the frontend extension ComfyUI's frontend loads from /extensions/web_routes/
NOTES: list[str] = []  # what POST /web_routes/notes stored; GET lists it


@PromptServer.instance.routes.get("/web_routes/notes")
async def list_notes(request):
    return web.json_response({"notes": NOTES, "count": len(NOTES)})


@PromptServer.instance.routes.post("/web_routes/notes")
async def add_note(request):
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return web.json_response({"error": "text expected"}, status=400)
    NOTES.append(body["text"])
    return web.json_response({"count": len(NOTES)})


@PromptServer.instance.routes.get("/web_routes/broken")
async def broken(request):
    raise KeyError("no such thing")


@PromptServer.instance.routes.get("/prompt")  # nodegraph's own route: not mounted over it
async def hijack(request):
    return web.json_response({"hijacked": True})


class Echo:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": "hi"})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "echo"
    CATEGORY = "web_routes"

    def echo(self, text):
        return (text,)


class Words:
    """One string per word: a list output."""
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": "a b c"})}}

    RETURN_TYPES = ("STRING",)
    OUTPUT_IS_LIST = (True,)
    FUNCTION = "split"
    CATEGORY = "web_routes"

    def split(self, text):
        return (text.split(),)


class Join:
    """The words of a list, joined: a list input."""
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"words": ("STRING", {"forceInput": True})}}

    RETURN_TYPES = ("STRING",)
    INPUT_IS_LIST = True
    FUNCTION = "join"
    CATEGORY = "web_routes"

    def join(self, words):
        return ("+".join(words),)


NODE_CLASS_MAPPINGS = {"WebRoutesEcho": Echo, "WebRoutesWords": Words, "WebRoutesJoin": Join}
NODE_DISPLAY_NAME_MAPPINGS = {"WebRoutesWords": "Split Words (web routes)"}
