"""A pack with one class that breaks the contract (RETURN_TYPES without its trailing comma) and
one that is fine: the good one loads."""


class Broken:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {}}

    RETURN_TYPES = ("IMAGE")
    FUNCTION = "run"

    def run(self):
        return (None,)


class Fine:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"a": ("INT", {"default": 1}), "b": ("INT", {"default": 2})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "add"

    def add(self, a, b):
        return (a + b,)


NODE_CLASS_MAPPINGS = {"HalfBroken": Broken, "HalfFine": Fine}
