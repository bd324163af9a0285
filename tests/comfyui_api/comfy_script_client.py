"""ComfyScript (``comfy-script`` on PyPI, unmodified) as its README has users drive a server:
``load`` reads the server's node catalogue and generates a Python function per node, a
``Workflow`` block builds ComfyUI's default text-to-image graph from them and queues it, and the
result is fetched back as a picture.

    python comfy_script_client.py HOST:PORT SEED TEXT OUT.png

Run in a process of its own: ComfyScript patches asyncio for the whole process on import.
"""
import sys

from comfy_script.runtime import Workflow, load

address, seed, text, out = sys.argv[1:5]
load(f"http://{address}/")
from comfy_script.runtime.nodes import (CheckpointLoaderSimple, CLIPTextEncode, EmptyLatentImage,  # noqa: E402
                                        KSampler, SaveImage, VAEDecode)

with Workflow(wait=True):
    model, clip, vae = CheckpointLoaderSimple("demo:tiny-sd15")
    positive = CLIPTextEncode(text, clip)
    negative = CLIPTextEncode("blurry", clip)
    latent = EmptyLatentImage(64, 64, 1)
    latent = KSampler(model, int(seed), 2, 8, "euler", "normal", positive, negative, latent, 1)
    saved = SaveImage(VAEDecode(latent, vae), "comfyscript")

picture = saved.wait()[0]
picture.save(out, pnginfo=None)
print("saved", picture.size)
