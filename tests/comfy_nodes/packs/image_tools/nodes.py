"""Nodes of the image_tools test pack, written exactly as a ComfyUI custom node would be."""
import hashlib
import json
import os

import numpy as np
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo

import comfy.model_management
import comfy.utils
import folder_paths
from nodes import MAX_RESOLUTION
from server import PromptServer


@PromptServer.instance.routes.get("/image_tools/hello")
async def hello(request):
    return None


class InvertImage:
    """1 - image, with a progress bar over the batch."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "invert"
    CATEGORY = "image_tools"
    DESCRIPTION = "Inverts the colours of an image."

    def invert(self, image):
        bar = comfy.utils.ProgressBar(image.shape[0])
        out = []
        for picture in image:
            comfy.model_management.throw_exception_if_processing_interrupted()
            out.append(1.0 - picture)
            bar.update(1)
        return (torch.stack(out),)


class Brightness:
    @classmethod
    def INPUT_TYPES(s):
        return {
            "required": {
                "image": ("IMAGE",),
                "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 4.0, "step": 0.05}),
                "mode": (["multiply", "add"],),
            },
            "optional": {"mask": ("MASK",)},
        }

    RETURN_TYPES = ("IMAGE", "FLOAT")
    RETURN_NAMES = ("IMAGE", "used_strength")
    FUNCTION = "apply"
    CATEGORY = "image_tools"

    def apply(self, image, strength, mode, mask=None):
        result = image * strength if mode == "multiply" else image + strength
        if mask is not None:
            result = torch.where(mask[..., None] > 0.5, result, image)
        return (result.clamp(0, 1), strength)


class SplitBatch:
    """An image batch as a list of single images (OUTPUT_IS_LIST)."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    OUTPUT_IS_LIST = (True,)
    FUNCTION = "split"
    CATEGORY = "image_tools/lists"

    def split(self, images):
        return ([images[i:i + 1] for i in range(images.shape[0])],)


class CountList:
    """How many images a list holds (INPUT_IS_LIST: one call with the whole list)."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",), "label": ("STRING", {"default": "count"})}}

    RETURN_TYPES = ("INT", "STRING")
    RETURN_NAMES = ("count", "text")
    INPUT_IS_LIST = True
    FUNCTION = "count"
    CATEGORY = "image_tools/lists"

    def count(self, images, label):
        return (len(images), f"{label[0]}: {len(images)}")


class ShowText:
    """An output node showing a text on the canvas ({"ui", "result"})."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"text": ("STRING", {"forceInput": True})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "show"
    OUTPUT_NODE = True
    CATEGORY = "image_tools"

    def show(self, text):
        PromptServer.instance.send_sync("image_tools.shown", {"text": text})
        return {"ui": {"text": [text]}, "result": (text,)}


class SavePNG:
    """Saves PNGs like ComfyUI's SaveImage: counter names, prompt and workflow embedded."""

    def __init__(self):
        self.output_dir = folder_paths.get_output_directory()

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",), "filename_prefix": ("STRING", {"default": "tools"})},
                "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}}

    RETURN_TYPES = ()
    FUNCTION = "save"
    OUTPUT_NODE = True
    CATEGORY = "image_tools"

    def save(self, images, filename_prefix, prompt=None, extra_pnginfo=None):
        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(
            filename_prefix, folder_paths.get_output_directory(), images.shape[2], images.shape[1])
        results = []
        for image in images:
            array = np.clip(255.0 * image.cpu().numpy(), 0, 255).astype(np.uint8)
            info = PngInfo()
            info.add_text("prompt", json.dumps(prompt))
            for key, value in (extra_pnginfo or {}).items():
                info.add_text(key, json.dumps(value))
            file = f"{name}_{counter:05}_.png"
            Image.fromarray(array).save(os.path.join(folder, file), pnginfo=info)
            results.append({"filename": file, "subfolder": subfolder, "type": "output"})
            counter += 1
        return {"ui": {"images": results}}


class PreviewTemp:
    """A preview in ComfyUI's temp folder (not an output file)."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",)}}

    RETURN_TYPES = ()
    FUNCTION = "preview"
    OUTPUT_NODE = True
    CATEGORY = "image_tools"

    def preview(self, images):
        folder = folder_paths.get_temp_directory()
        os.makedirs(folder, exist_ok=True)
        file = f"preview_{hashlib.sha1(images.numpy().tobytes()).hexdigest()[:8]}.png"
        array = np.clip(255.0 * images[0].numpy(), 0, 255).astype(np.uint8)
        Image.fromarray(array).save(os.path.join(folder, file))
        return {"ui": {"images": [{"filename": file, "subfolder": "", "type": "temp"}]}}


class Noise:
    """A new random value on every run: IS_CHANGED returns NaN."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"scale": ("FLOAT", {"default": 1.0})}}

    RETURN_TYPES = ("FLOAT",)
    FUNCTION = "draw"
    CATEGORY = "image_tools"

    @classmethod
    def IS_CHANGED(s, scale):
        return float("NaN")

    def draw(self, scale):
        return (float(int.from_bytes(os.urandom(4), "little")) * scale,)


class LoadText:
    """A text file of the input folder; IS_CHANGED hashes it, so an edit re-runs the node."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"file": ("STRING", {"default": "note.txt"})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "load"
    CATEGORY = "image_tools"

    @classmethod
    def IS_CHANGED(s, file):
        with open(folder_paths.get_annotated_filepath(file), "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()

    @classmethod
    def VALIDATE_INPUTS(s, file):
        if not folder_paths.exists_annotated_filepath(file):
            return f"no such text file: {file}"
        return True

    def load(self, file):
        with open(folder_paths.get_annotated_filepath(file), encoding="utf-8") as handle:
            return (handle.read(),)


class EvenNumber:
    """VALIDATE_INPUTS: an odd number is refused before anything runs."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"number": ("INT", {"default": 2, "min": 0, "max": 100})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "image_tools"

    @classmethod
    def VALIDATE_INPUTS(s, number):
        if number % 2:
            return "number must be even"
        return True

    def run(self, number):
        return (number,)


class MaskFromImage:
    """A 2-D mask (ComfyUI tolerates [H, W] masks)."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": ("IMAGE",), "threshold": ("FLOAT", {"default": 0.5, "min": 0, "max": 1})}}

    RETURN_TYPES = ("MASK",)
    FUNCTION = "mask"
    CATEGORY = "image_tools"

    def mask(self, image, threshold):
        return ((image[0].mean(dim=-1) > threshold).float(),)


class MakeToken:
    """A value of a type only this pack knows."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"word": ("STRING", {"default": "hello"}), "size": ("INT", {"default": 8, "min": 1, "max": MAX_RESOLUTION})}}

    RETURN_TYPES = ("TOOLS_TOKEN",)
    FUNCTION = "make"
    CATEGORY = "image_tools"

    def make(self, word, size):
        return ({"word": word, "size": size},)


class ReadToken:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"token": ("TOOLS_TOKEN",)}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "read"
    CATEGORY = "image_tools"

    def read(self, token):
        return (token["word"] * 2,)


class AnySize:
    """Takes an image or a mask (a comma-separated type) and anything ("*")."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"pixels": ("IMAGE,MASK",)}, "optional": {"anything": ("*",)}}

    RETURN_TYPES = ("INT", "INT")
    RETURN_NAMES = ("width", "height")
    FUNCTION = "size"
    CATEGORY = "image_tools"

    def size(self, pixels, anything=None):
        return (int(pixels.shape[2]), int(pixels.shape[1]))


class Fails:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "explode"
    CATEGORY = "image_tools"

    def explode(self, image):
        raise ValueError("this node always fails")


class WhoAmI:
    """Hidden inputs: the node's id, the prompt and the workflow."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"tag": ("STRING", {"default": "x"})},
                "hidden": {"unique_id": "UNIQUE_ID", "prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "who"
    CATEGORY = "image_tools"

    def who(self, tag, unique_id=None, prompt=None, extra_pnginfo=None):
        mine = prompt[unique_id]
        return (json.dumps({"id": unique_id, "class_type": mine["class_type"], "tag": mine["inputs"]["tag"],
                            "nodes": sorted(prompt), "has_workflow": bool(extra_pnginfo and extra_pnginfo.get("workflow"))}),)


class Calls:
    """Counts the calls its one instance received (ComfyUI keeps one object per node)."""

    def __init__(self):
        self.calls = 0

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"value": ("INT", {"default": 0})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "count"
    CATEGORY = "image_tools"
    NOT_IDEMPOTENT = True

    @classmethod
    def IS_CHANGED(s, value):
        return float("nan")

    def count(self, value):
        self.calls += 1
        return (self.calls,)


class RepeatBatch:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": ("IMAGE",), "amount": ("INT", {"default": 2, "min": 1, "max": 64})}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "repeat"
    CATEGORY = "image_tools/lists"

    def repeat(self, image, amount):
        # each copy a little darker, so the items of a list differ
        return (torch.cat([image * (1.0 - 0.1 * i) for i in range(amount)]),)


class InterruptMe:
    """Interrupts its own job (as a pack's cancel button would) and checks for it."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": ("IMAGE",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "stop"
    CATEGORY = "image_tools"

    def stop(self, image):
        comfy.model_management.interrupt_current_processing()
        comfy.model_management.throw_exception_if_processing_interrupted()
        return (image,)


class EmptyLatent:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"width": ("INT", {"default": 64, "min": 8, "max": MAX_RESOLUTION, "step": 8}),
                             "height": ("INT", {"default": 64, "min": 8, "max": MAX_RESOLUTION, "step": 8})}}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "make"
    CATEGORY = "image_tools/latent"

    def make(self, width, height):
        return ({"samples": torch.zeros([1, 4, height // 8, width // 8])},)


class LatentInfo:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"samples": ("LATENT",)}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "info"
    CATEGORY = "image_tools/latent"

    def info(self, samples):
        return (f"{sorted(samples)} {list(samples['samples'].shape)}",)


NODE_CLASS_MAPPINGS = {
    "ToolsInvert": InvertImage, "ToolsBrightness": Brightness, "ToolsSplitBatch": SplitBatch,
    "ToolsCountList": CountList, "ToolsShowText": ShowText, "ToolsSavePNG": SavePNG, "ToolsPreview": PreviewTemp,
    "ToolsNoise": Noise, "ToolsLoadText": LoadText, "ToolsEvenNumber": EvenNumber, "ToolsMask": MaskFromImage,
    "ToolsMakeToken": MakeToken, "ToolsReadToken": ReadToken, "ToolsAnySize": AnySize, "ToolsFails": Fails,
    "ToolsWhoAmI": WhoAmI, "ToolsCalls": Calls, "ToolsRepeatBatch": RepeatBatch, "ToolsInterruptMe": InterruptMe,
    "ToolsEmptyLatent": EmptyLatent, "ToolsLatentInfo": LatentInfo,
}
NODE_DISPLAY_NAME_MAPPINGS = {"ToolsInvert": "Invert Image (tools)", "ToolsSavePNG": "Save PNG (tools)"}
