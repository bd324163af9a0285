"""A pack whose nodes carry the class flags ComfyUI lists in /object_info: SEARCH_ALIASES,
DEPRECATED, EXPERIMENTAL, API_NODE and HAS_INTERMEDIATE_OUTPUT."""


class _Passthrough:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": "x"})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    CATEGORY = "flagged"

    def run(self, text):
        return (text,)


class OldUpper(_Passthrough):
    DEPRECATED = True
    SEARCH_ALIASES = ["shout", "capitals"]

    def run(self, text):
        return (text.upper(),)


class TryOut(_Passthrough):
    EXPERIMENTAL = True
    API_NODE = False


class LivePreview(_Passthrough):
    HAS_INTERMEDIATE_OUTPUT = True
    API_NODE = True


NODE_CLASS_MAPPINGS = {"FlaggedOldUpper": OldUpper, "FlaggedTryOut": TryOut, "FlaggedLivePreview": LivePreview}
