"""A pack built on ComfyUI's own image nodes, as many packs are: a saver subclassing
nodes.SaveImage (greyscale first, its own prefix suffix), a preview subclassing
nodes.PreviewImage (flipped first), a loader subclassing nodes.LoadImage that also returns the
file's name, and nodes.SaveImage itself under a name of the pack's (plus a node that shows a
mask as text)."""
import nodes
from nodes import LoadImage, PreviewImage


class SaveGrey(nodes.SaveImage):
    def __init__(self):
        super().__init__()
        self.prefix_append = "_grey"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE",), "filename_prefix": ("STRING", {"default": "grey"})},
                "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}}

    FUNCTION = "save_grey"

    def save_grey(self, images, filename_prefix, prompt=None, extra_pnginfo=None):
        grey = images.mean(dim=-1, keepdim=True).expand(-1, -1, -1, 3)
        return self.save_images(grey, filename_prefix, prompt, extra_pnginfo)


class PreviewFlipped(PreviewImage):
    FUNCTION = "flip"

    def flip(self, images, prompt=None, extra_pnginfo=None):
        return self.save_images(images.flip(2), "flipped", prompt, extra_pnginfo)


class LoadImageNamed(LoadImage):
    RETURN_TYPES = ("IMAGE", "MASK", "STRING")
    RETURN_NAMES = ("image", "mask", "name")
    FUNCTION = "load_named"

    def load_named(self, image):
        picture, mask = self.load_image(image)
        return picture, mask, image


class MaskRows:
    """A mask's shape and first row, as text (for the tests to read)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",)}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "describe"

    def describe(self, mask):
        return (f"{tuple(mask.shape)} {[round(float(v), 3) for v in mask[0, 0]]}",)


NODE_CLASS_MAPPINGS = {"CoreSaveGrey": SaveGrey, "CorePreviewFlipped": PreviewFlipped,
                       "CoreLoadNamed": LoadImageNamed, "CoreSaveImage": nodes.SaveImage, "CoreMaskRows": MaskRows}
