"""ComfyUI's ``comfy`` package, for custom-node packs: only ``comfy.utils`` (progress bars and a
few tensor helpers) and ``comfy.model_management`` (device, memory and interrupt helpers). Any
other ``comfy.*`` module (samplers, model patcher, sd, clip internals) does not exist here, so a
pack importing one fails to load with "No module named 'comfy.samplers'"."""
