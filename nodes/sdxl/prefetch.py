"""Reading an SDXL folder's weights onto the device while the process still imports diffusers.

In a cold process the main thread spends seconds importing diffusers and transformers (4.5 s of
imports on an H200 host, GIL-bound) and then loads ~6.5 GB of weights (1.8 s). The weights do
not need diffusers to be read, so LoadSDXL, which runs first and only builds a handle, has the
model manager start reading them on a background thread; the manager then builds the models
around the tensors already on the device.

The reader is written by hand because safetensors' own reader holds the GIL while it copies
tensor by tensor from its memory map: read on a thread beside the imports, it slowed them down
by as much as it saved (benchmarks/load_parts.py, "read-behind"). Here each file is read with
``readinto`` into a pinned chunk and copied to one device buffer per file; both calls release
the GIL. Tensors are views into that buffer (same bytes as the file, so the models are
bit-identical to the library's loading), cast only where the file's dtype is not the target's.

Anything unusual (a sharded or variant folder, keys the model does not have, a VAE with
pre-0.14 attention names) makes that component load through its library as before.
"""
from __future__ import annotations

import json
import os
import struct
import threading
from pathlib import Path
from typing import Any

# Component -> (library, weight file name) in a diffusers SDXL folder.
COMPONENTS = {
    "unet": ("diffusers", "diffusion_pytorch_model.safetensors"),
    "vae": ("diffusers", "diffusion_pytorch_model.safetensors"),
    "text_encoder": ("transformers", "model.safetensors"),
    "text_encoder_2": ("transformers", "model.safetensors"),
}
CHUNK = 64 << 20  # bytes per read: large enough for full-speed reads, small enough to pin quickly
# Weights nobody takes within this many seconds are dropped (a run that failed before its first
# model use; a Ray worker that ran LoadSDXL while another worker samples): device memory is
# not held for a load that is not coming. A cold run takes them within seconds.
UNCLAIMED_AFTER = 120.0


def weight_file(folder: Path, component: str) -> Path | None:
    """The component's one weight file, or None when it is not exactly that (sharded, variants)."""
    path = folder / component / COMPONENTS[component][1]
    others = [p for p in (folder / component).glob("*.safetensors*") if p != path] if path.parent.is_dir() else []
    return path if path.is_file() and not others else None


class Prefetch:
    """Reads each component's weights on a background thread; ``take(component)`` waits for
    them (None when they could not be read: the library reads them instead)."""

    def __init__(self, folder: Path, device: str, dtype: Any, components: tuple[str, ...] = tuple(COMPONENTS),
                 unclaimed_after: float = UNCLAIMED_AFTER):
        self.folder, self.device, self.dtype = Path(folder), device, dtype
        self.unclaimed_after = unclaimed_after
        self._claimed = threading.Event()
        self._dropped = False
        self._files = {c: weight_file(self.folder, c) for c in components}
        self._tensors: dict[str, dict] = {}
        self.used: tuple[str, ...] = ()  # the components the loader built around what was read
        self._ready = {c: threading.Event() for c in components}
        self._thread = threading.Thread(target=self._read_all, name="nodegraph-prefetch", daemon=True)
        self._thread.start()

    def take(self, component: str) -> dict | None:
        self._claimed.set()
        ready = self._ready.get(component)
        if ready is None:
            return None
        ready.wait()
        return self._tensors.pop(component, None)

    def discard(self) -> None:
        """Drop whatever was read and not taken (its device memory goes with it), and read no more."""
        self._dropped = True
        self._tensors.clear()

    def _read_all(self) -> None:
        dtype = None
        for component, path in self._files.items():
            try:
                if path is not None and not self._dropped:
                    if dtype is None:
                        import torch
                        dtype = getattr(torch, self.dtype) if isinstance(self.dtype, str) else self.dtype
                    tensors = read_safetensors(path, self.device, dtype)
                    if not self._dropped:
                        self._tensors[component] = tensors
            except Exception:  # noqa: BLE001 - only a head start: the library reads it and reports
                pass
            finally:
                self._ready[component].set()
        if not self._claimed.wait(self.unclaimed_after):
            self._tensors.clear()


def read_safetensors(path: Path, device: str, dtype: Any) -> dict:
    """Every tensor of a .safetensors file on ``device``; floating ones cast to ``dtype``."""
    import torch
    dtypes = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
              "BOOL": torch.bool}
    with open(path, "rb", buffering=0) as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
        header.pop("__metadata__", None)
        size = max((info["data_offsets"][1] for info in header.values()), default=0)
        if os.path.getsize(path) < 8 + length + size:
            raise ValueError(f"{path} is truncated")
        data = torch.empty(size, dtype=torch.uint8, device=device)
        _read_into(file, data)
    tensors = {}
    for name, info in header.items():
        kind = dtypes[info["dtype"]]
        start, end = info["data_offsets"]
        raw = data[start:end]
        if start % kind.itemsize:  # not aligned for a view of that dtype: a copy that is
            raw = raw.clone()
        tensor = raw.view(kind).reshape(info["shape"])
        tensors[name] = tensor.to(dtype) if tensor.is_floating_point() and kind != dtype else tensor
    return tensors


def _read_into(file, data) -> None:
    """Fill the byte tensor ``data`` from ``file``'s current position; the GIL is released
    during each read and each host-to-device copy."""
    import torch
    if data.device.type == "cpu":
        view, done = memoryview(data.numpy()), 0
        while done < len(view):
            got = file.readinto(view[done:])
            if not got:
                raise ValueError("file ended early")
            done += got
        return
    staging = torch.empty(min(CHUNK, data.numel()) or 1, dtype=torch.uint8, pin_memory=True)
    chunk = memoryview(staging.numpy())
    done = 0
    while done < data.numel():
        want = min(len(chunk), data.numel() - done)
        got = file.readinto(chunk[:want])
        if not got:
            raise ValueError("file ended early")
        data[done:done + got].copy_(staging[:got])  # synchronous: the chunk is reused next
        done += got


def build(component: str, folder: Path, tensors: dict, dtype: Any, device: str):
    """The component's model around ``tensors`` (no copy), or None when they do not fit it exactly."""
    import torch
    library = COMPONENTS[component][0]
    location = folder / component
    if library == "diffusers":
        import diffusers
        cls = {"unet": diffusers.UNet2DConditionModel, "vae": diffusers.AutoencoderKL}[component]
        with torch.device("meta"):
            model = cls.from_config(cls.load_config(str(location)))
        result = model.load_state_dict(tensors, strict=False, assign=True)
        if result.missing_keys or result.unexpected_keys:
            return None  # e.g. a VAE saved with old attention names, which diffusers converts
        model.register_to_config(_name_or_path=str(location))  # as from_pretrained with a subfolder
        model.eval()
    else:
        import transformers
        cls = {"text_encoder": transformers.CLIPTextModel,
               "text_encoder_2": transformers.CLIPTextModelWithProjection}[component]
        config = cls.config_class.from_pretrained(str(location))
        # transformers' own path for a state dict in hand: it fills non-persistent buffers too.
        # The device map keeps each tensor where it is (without one it would place them on the CPU).
        model = cls.from_pretrained(None, config=config, state_dict=tensors, torch_dtype=dtype,
                                    device_map={"": device})
        model.config._name_or_path = str(folder)
        model.eval()
    read = {t.data_ptr() for t in tensors.values()}
    if any(t.is_meta for t in model.buffers()) or any(p.data_ptr() not in read for p in model.parameters()):
        return None  # a weight the file did not fill (made fresh, or copied): not the file's model
    return model.to(device)  # buffers made on the CPU move; the weights are there already
