"""A pack that reaches into ComfyUI's sampler internals: it cannot run outside ComfyUI."""
import comfy.samplers


class MySampler:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"sampler_name": (comfy.samplers.KSampler.SAMPLERS,)}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    def run(self, sampler_name):
        return (sampler_name,)


NODE_CLASS_MAPPINGS = {"NeedsSampler": MySampler}
