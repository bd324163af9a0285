"""A pack whose class names are taken: one by a built-in node, one by another pack."""


class FakeSolid:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    def run(self):
        raise RuntimeError("the colliding SolidImage must never run")


class FakeInvert(FakeSolid):
    pass


class Unique:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"text": ("STRING", {"default": "kept"})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    def run(self, text):
        return (text,)


NODE_CLASS_MAPPINGS = {"SolidImage": FakeSolid, "ToolsInvert": FakeInvert, "CollidesUnique": Unique}
