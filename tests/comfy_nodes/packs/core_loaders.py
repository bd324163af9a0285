"""A pack whose loaders subclass ComfyUI's own (as popular packs' "loader with preview images"
nodes do): one extends CheckpointLoaderSimple's inputs and outputs and calls load_checkpoint, one
subclasses LoraLoader as it is."""
from nodes import CheckpointLoaderSimple, LoraLoader


class CheckpointLoaderLabelled(CheckpointLoaderSimple):
    @classmethod
    def INPUT_TYPES(cls):
        types = super().INPUT_TYPES()
        types["optional"]["label"] = ("STRING", {"default": "ckpt"})
        return types

    RETURN_TYPES = CheckpointLoaderSimple.RETURN_TYPES + ("STRING",)
    FUNCTION = "load_labelled"

    def load_labelled(self, ckpt_name, label="ckpt"):
        model, clip, vae = self.load_checkpoint(ckpt_name)
        return model, clip, vae, f"{label}: {ckpt_name}"


class LoraLoaderAsIs(LoraLoader):
    pass


NODE_CLASS_MAPPINGS = {"CoreCheckpointLabelled": CheckpointLoaderLabelled, "CoreLoraAsIs": LoraLoaderAsIs}
