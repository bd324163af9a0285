"""Writes the ComfyUI workflow files of this folder: each test workflow as ComfyUI's API format
(``<name>.api.json``) and as its frontend's UI format (``<name>.json``: node list, link table,
positional ``widgets_values`` with the seed controls, groups, and here and there a Reroute, a
PrimitiveNode, a Note, as people's files have them).

Real-world model file names (``v1-5-pruned-emaonly.safetensors``, ``sd_xl_refiner_1.0.safetensors``,
...) on purpose: the tests run them with ``--demo-models``. Widget order and output slots are
read from the catalogue, so run it with the comfy pack installed:

    python tests/comfyui/workflows/build.py
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def link(node: str, slot: int) -> list:
    return [node, slot]


def encode(text: str, clip) -> dict:
    return {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": clip}}


def ksampler(seed, steps, cfg, sampler, scheduler, model, pos, neg, latent, denoise=1.0) -> dict:
    return {"class_type": "KSampler", "inputs": {"seed": seed, "steps": steps, "cfg": cfg, "sampler_name": sampler,
                                                 "scheduler": scheduler, "denoise": denoise, "model": model,
                                                 "positive": pos, "negative": neg, "latent_image": latent}}


def txt2img(ckpt: str, prompt: str, seed: int, steps=4, cfg=8.0, sampler="euler", scheduler="normal") -> dict:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "6": encode(prompt, link("4", 1)),
        "7": encode("blurry, low quality", link("4", 1)),
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "3": ksampler(seed, steps, cfg, sampler, scheduler, link("4", 0), link("6", 0), link("7", 0), link("5", 0)),
        "8": {"class_type": "VAEDecode", "inputs": {"samples": link("3", 0), "vae": link("4", 2)}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": link("8", 0)}},
    }


def sd15_txt2img() -> dict:
    return txt2img("v1-5-pruned-emaonly.safetensors", "a lighthouse at dusk, oil painting", 156680208700286)


def sdxl_lora() -> dict:
    p = txt2img("sd_xl_base_1.0.safetensors", "a papercut fox in a forest", 42, cfg=5.0, sampler="dpmpp_2m",
                scheduler="karras")
    p["10"] = {"class_type": "LoraLoader", "inputs": {"lora_name": "papercut_style_xl.safetensors", "strength_model": 0.8,
                                                      "strength_clip": 1.0, "model": link("4", 0), "clip": link("4", 1)}}
    p["6"]["inputs"]["clip"] = p["7"]["inputs"]["clip"] = link("10", 1)
    p["3"]["inputs"]["model"] = link("10", 0)
    p["9"]["inputs"]["filename_prefix"] = "sdxl_lora/fox"
    return p


def lcm_lora() -> dict:
    p = txt2img("sd_xl_base_1.0.safetensors", "a watercolor lighthouse", 42, steps=4, cfg=1.0, sampler="lcm",
                scheduler="sgm_uniform")
    p["10"] = {"class_type": "LoraLoaderModelOnly", "inputs": {"lora_name": "lcm-lora-sdxl.safetensors",
                                                               "strength_model": 1.0, "model": link("4", 0)}}
    p["11"] = {"class_type": "ModelSamplingDiscrete", "inputs": {"sampling": "lcm", "zsnr": False, "model": link("10", 0)}}
    p["3"]["inputs"]["model"] = link("11", 0)
    p["9"]["inputs"]["filename_prefix"] = "lcm"
    return p


def sdxl_base_refiner() -> dict:
    def advanced(noise, seed, start, end, leftover, model, pos, neg, latent):
        return {"class_type": "KSamplerAdvanced", "inputs": {
            "add_noise": noise, "noise_seed": seed, "steps": 6, "cfg": 6.0, "sampler_name": "euler",
            "scheduler": "normal", "start_at_step": start, "end_at_step": end, "return_with_leftover_noise": leftover,
            "model": model, "positive": pos, "negative": neg, "latent_image": latent}}
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "12": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_refiner_1.0.safetensors"}},
        "6": encode("a castle on a hill", link("4", 1)),
        "7": encode("fog", link("4", 1)),
        "15": encode("a castle on a hill", link("12", 1)),
        "16": encode("fog", link("12", 1)),
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "10": advanced("enable", 7, 0, 4, "enable", link("4", 0), link("6", 0), link("7", 0), link("5", 0)),
        "11": advanced("disable", 0, 4, 10000, "disable", link("12", 0), link("15", 0), link("16", 0), link("10", 0)),
        "17": {"class_type": "VAEDecode", "inputs": {"samples": link("11", 0), "vae": link("12", 2)}},
        "19": {"class_type": "SaveImage", "inputs": {"filename_prefix": "refined", "images": link("17", 0)}},
    }


def sd15_img2img() -> dict:
    p = txt2img("v1-5-pruned-emaonly.safetensors", "a landscape in autumn", 42, steps=5, cfg=7.0)
    del p["5"]
    p["1"] = {"class_type": "LoadImage", "inputs": {"image": "example.png", "upload": "image"}}
    p["2"] = {"class_type": "ImageScale", "inputs": {"upscale_method": "bilinear", "width": 64, "height": 64,
                                                     "crop": "center", "image": link("1", 0)}}
    p["12"] = {"class_type": "VAEEncode", "inputs": {"pixels": link("2", 0), "vae": link("4", 2)}}
    p["3"]["inputs"]["latent_image"] = link("12", 0)
    p["3"]["inputs"]["denoise"] = 0.6
    p["9"]["inputs"]["filename_prefix"] = "img2img"
    return p


def svd_parts(image) -> dict:
    return {
        "15": {"class_type": "ImageOnlyCheckpointLoader", "inputs": {"ckpt_name": "svd_xt.safetensors"}},
        "12": {"class_type": "SVD_img2vid_Conditioning", "inputs": {
            "width": 64, "height": 64, "video_frames": 4, "motion_bucket_id": 127, "fps": 6, "augmentation_level": 0.0,
            "clip_vision": link("15", 1), "init_image": image, "vae": link("15", 2)}},
        "14": {"class_type": "VideoLinearCFGGuidance", "inputs": {"min_cfg": 1.0, "model": link("15", 0)}},
        "13": ksampler(3, 3, 2.5, "euler", "karras", link("14", 0), link("12", 0), link("12", 1), link("12", 2)),
        "18": {"class_type": "VAEDecode", "inputs": {"samples": link("13", 0), "vae": link("15", 2)}},
        "20": {"class_type": "SaveAnimatedWEBP", "inputs": {"filename_prefix": "svd", "fps": 10.0, "lossless": False,
                                                            "quality": 85, "method": "default", "images": link("18", 0)}},
    }


def svd_webp() -> dict:
    p = svd_parts(link("23", 0))
    p["23"] = {"class_type": "LoadImage", "inputs": {"image": "start_frame.png", "upload": "image"}}
    return p


def text_image_video() -> dict:
    p = txt2img("v1-5-pruned-emaonly.safetensors", "a red kite over the sea", 9)
    p["9"]["inputs"]["filename_prefix"] = "still"
    p.update(svd_parts(link("8", 0)))
    p["20"]["inputs"]["filename_prefix"] = "moving"
    return p


WORKFLOWS = {"sd15_txt2img": sd15_txt2img, "sdxl_lora": sdxl_lora, "lcm_lora": lcm_lora,
             "sdxl_base_refiner": sdxl_base_refiner, "sd15_img2img": sd15_img2img, "svd_webp": svd_webp,
             "text_image_video": text_image_video}


class UIWriter:
    """The UI-format file ComfyUI's frontend saves for an API prompt."""

    def __init__(self, registry):
        from nodegraph.comfyui.classes import resolve_class
        from nodegraph.comfyui.ui_format import has_control, widget_order
        self.resolve, self.widget_order, self.has_control = resolve_class, widget_order, has_control
        self.registry = registry
        self.nodes, self.links = [], []

    def _node(self, node_id: int, type_: str, pos) -> dict:
        node = {"id": node_id, "type": type_, "pos": list(pos), "size": [315, 120], "flags": {},
                "order": len(self.nodes), "mode": 0, "inputs": [], "outputs": [],
                "properties": {"Node name for S&R": type_}}
        self.nodes.append(node)
        return node

    def _link(self, origin: int, slot: int, target: dict, target_slot: int, type_: str) -> int:
        link_id = 1 + max((lk[0] for lk in self.links), default=0)
        self.links.append([link_id, origin, slot, target["id"], target_slot, type_])
        target["inputs"][target_slot]["link"] = link_id
        source = next(n for n in self.nodes if n["id"] == origin)
        if source["outputs"]:
            source["outputs"][slot]["links"].append(link_id)
        return link_id

    def write(self, prompt: dict, controls: dict, extras) -> dict:
        comfy = {nid: self.resolve(e["class_type"], self.registry) for nid, e in prompt.items()}
        by_id = {}
        for index, (nid, entry) in enumerate(prompt.items()):
            c = comfy[nid]
            node = self._node(int(nid), entry["class_type"], (40 + 340 * (index % 4), 40 + 260 * (index // 4)))
            by_id[nid] = node
            for native, spec in c.cls.inputs.items():
                name = c.comfy_input(native)
                value = entry["inputs"].get(name)
                if spec.widget is None:
                    node["inputs"].append({"name": name, "type": spec.socket, "link": None})
                elif isinstance(value, list):  # a widget fed by a link: converted to an input
                    node["inputs"].append({"name": name, "type": spec.socket, "widget": {"name": name}, "link": None})
            node["outputs"] = [{"name": out.upper(), "type": o.type, "links": [], "slot_index": i}
                               for i, (out, o) in enumerate(c.cls.outputs.items())]
            values = []
            for native in self.widget_order(c):
                if native is None:  # a UI-only widget (LoadImage's upload button)
                    values.append("image")
                    continue
                value = entry["inputs"].get(c.comfy_input(native), c.cls.inputs[native].default)
                values.append(None if isinstance(value, list) else value)
                if self.has_control(c.cls, native):
                    values.append(controls.get(nid, "fixed"))
            node["widgets_values"] = values
        for nid, entry in prompt.items():
            node = by_id[nid]
            for name, value in entry["inputs"].items():
                if isinstance(value, list):
                    slot = next(i for i, inp in enumerate(node["inputs"]) if inp["name"] == name)
                    out_type = node["inputs"][slot]["type"]
                    self._link(int(value[0]), value[1], node, slot, out_type)
        data = {"last_node_id": max(n["id"] for n in self.nodes), "last_link_id": len(self.links),
                "nodes": self.nodes, "links": self.links, "groups": [], "config": {},
                "extra": {"ds": {"scale": 1.0, "offset": [0, 0]}}, "version": 0.4}
        for extra in extras:
            extra(self, data)
        data["last_node_id"] = max(n["id"] for n in self.nodes)
        data["last_link_id"] = max(lk[0] for lk in self.links)
        return data


def note(text: str, node_id: int = 50, kind: str = "Note"):
    def add(writer: UIWriter, data: dict) -> None:
        writer._node(node_id, kind, (40, -200))["widgets_values"] = [text]
    return add


def group(title: str, bounds):
    def add(writer: UIWriter, data: dict) -> None:
        data["groups"].append({"title": title, "bounding": list(bounds), "color": "#3f789e", "font_size": 24})
    return add


def reroute(origin: int, slot: int, target: int, input_name: str, node_id: int = 60):
    """Put a Reroute on the wire origin.slot -> target.input_name."""
    def add(writer: UIWriter, data: dict) -> None:
        dest = next(n for n in writer.nodes if n["id"] == target)
        t_slot = next(i for i, inp in enumerate(dest["inputs"]) if inp["name"] == input_name)
        old = dest["inputs"][t_slot]["link"]
        writer.links = data["links"] = [lk for lk in writer.links if lk[0] != old]
        for n in writer.nodes:
            for out in n["outputs"]:
                if old in out["links"]:
                    out["links"].remove(old)
        r = writer._node(node_id, "Reroute", (dest["pos"][0] - 120, dest["pos"][1] + 40))
        r["inputs"] = [{"name": "", "type": "*", "link": None}]
        r["outputs"] = [{"name": "", "type": dest["inputs"][t_slot]["type"], "links": []}]
        r["properties"] = {"showOutputText": False, "horizontal": False}
        writer._link(origin, slot, r, 0, "*")
        writer._link(node_id, 0, dest, t_slot, dest["inputs"][t_slot]["type"])
        data["links"] = writer.links
    return add


def primitive(target: int, widget: str, value, control: str, node_id: int = 70):
    """Convert target's widget to an input fed by a PrimitiveNode holding value and control."""
    def add(writer: UIWriter, data: dict) -> None:
        dest = next(n for n in writer.nodes if n["id"] == target)
        dest["inputs"].append({"name": widget, "type": "INT", "widget": {"name": widget}, "link": None})
        p = writer._node(node_id, "PrimitiveNode", (dest["pos"][0] - 340, dest["pos"][1] + 200))
        p["outputs"] = [{"name": "INT", "type": "INT", "links": [], "widget": {"name": widget}}]
        p["widgets_values"] = [value, control]
        p["properties"] = {"Run widget replace on values": False}
        writer._link(node_id, 0, dest, len(dest["inputs"]) - 1, "INT")
        data["links"] = writer.links
    return add


UI_EXTRAS = {
    "sd15_txt2img": ({"3": "randomize"}, [note("SD 1.5 from the ComfyUI default graph"),
                                          group("Prompt", (330, 0, 700, 520))]),
    "sdxl_lora": ({}, [primitive(3, "seed", 42, "fixed"), group("LoRA", (0, 0, 700, 300))]),
    "lcm_lora": ({"3": "fixed"}, [note("LCM: 4 steps, cfg 1", kind="MarkdownNote")]),
    "sdxl_base_refiner": ({"10": "increment"}, [reroute(12, 2, 17, "vae"), group("Refiner", (0, 300, 1400, 520))]),
    "sd15_img2img": ({}, []),
    "svd_webp": ({}, [group("Video", (0, 0, 1400, 520))]),
    "text_image_video": ({"3": "fixed", "13": "fixed"}, [reroute(8, 0, 12, "init_image")]),
}


def main() -> None:
    from nodegraph.api.plugins import load_registry
    registry = load_registry(use_env=False)
    assert registry.get("KSampler") is not None, "needs the comfy pack"
    for name, make in WORKFLOWS.items():
        prompt = make()
        for entry in prompt.values():
            entry["_meta"] = {"title": entry["class_type"]}
        (HERE / f"{name}.api.json").write_text(json.dumps(prompt, indent=2) + "\n")
        controls, extras = UI_EXTRAS[name]
        ui = UIWriter(registry).write(make(), controls, extras)
        (HERE / f"{name}.json").write_text(json.dumps(ui, indent=1) + "\n")


if __name__ == "__main__":
    main()
