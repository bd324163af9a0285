"""What a warm image costs outside the UNet and the VAE decoder (fast mode's target is there).

(a) The main job on the tiny demo model, warm, cache off, with the UNet forward and the VAE
    decode replaced by stubs that return zeros of the right shape: what is left per node is the
    engine, the diffusers pipeline loop, the scheduler, the text encoders (real, tiny), the
    conversions between nodes and the PNG. Medians per node.
(b) diffusers' ``_execution_device`` on an SDXL-size pipeline (built on the meta device: no
    weights, the real module tree) against the manager's pipeline class, which reads the UNet's
    first parameter: paid once per sampler call.

    python benchmarks/sampling_overhead.py [--size 1024] [--rounds 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def stubbed_job(size: int, rounds: int) -> None:
    import torch
    from lcm_overhead import main_job
    from nodegraph.run.cache import Cache
    from nodegraph.run.context import Environment
    from nodegraph.run.events import CollectingSink
    from nodegraph.files.roots import FileRoots
    from nodegraph.run.session import Session
    from nodegraph_nodes.sdxl.model_manager import ModelHandle

    workflow = main_job("demo:tiny-sdxl", "demo:tiny-sdxl-lcm-lora", "demo:tiny-sdxl-style-lora", size)
    demo_dir = Path(os.environ.get("NODEGRAPH_DEMO_DIR") or Path.home() / ".cache/nodegraph/demo")
    env = Environment(files=FileRoots(output_dir=Path(tempfile.mkdtemp(prefix="overhead-"))), device="cpu",
                      demo_dir=demo_dir)
    session = Session(env=env, cache=Cache(enabled=False))

    def once() -> tuple[float, dict]:
        sink = CollectingSink()
        start = time.perf_counter()
        result = session.run(workflow, sink=sink)
        assert result.ok, result.error
        return time.perf_counter() - start, {e["node"]: e["seconds"] for e in sink.of("executed")}

    once()  # loads and fuses
    manager = env.services["sdxl_models"]
    (source,) = manager.loaded()
    with manager.use(ModelHandle(source)) as pipe:  # the modules themselves: stubs stay for later jobs
        pass
    pipe.unet.forward = lambda sample, *a, **k: (torch.zeros_like(sample),)
    pipe.vae.decode = lambda z, return_dict=False: (torch.zeros(z.shape[0], 3, z.shape[2] * 8, z.shape[3] * 8),)
    once()
    runs = [once() for _ in range(rounds)]
    print(f"(a) tiny demo model, {size}x{size}, UNet and VAE decode stubbed, median of {rounds}: "
          f"{statistics.median(r[0] for r in runs) * 1000:.1f} ms per job", flush=True)
    for node in runs[0][1]:
        print(f"    {node:8s} {statistics.median(r[1][node] for r in runs) * 1000:8.2f} ms", flush=True)


def execution_device(rounds: int) -> None:
    import torch
    from diffusers import AutoencoderKL, LCMScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from lcm_overhead import FULL_TE1, FULL_TE2, FULL_UNET, FULL_VAE
    from nodegraph_nodes.sdxl.model_manager import placed_pipeline_class
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    with torch.device("meta"):
        parts = dict(unet=UNet2DConditionModel(**FULL_UNET), vae=AutoencoderKL(**FULL_VAE),
                     text_encoder=CLIPTextModel(CLIPTextConfig(**FULL_TE1)),
                     text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**FULL_TE2)))
    timings = {}
    for label, cls in (("diffusers", StableDiffusionXLPipeline), ("manager", placed_pipeline_class())):
        pipe = cls(**parts, tokenizer=None, tokenizer_2=None, scheduler=LCMScheduler(), add_watermarker=False)
        assert pipe._execution_device == torch.device("meta")
        start = time.perf_counter()
        for _ in range(rounds):
            pipe._execution_device  # noqa: B018 - the property is what is timed
        timings[label] = (time.perf_counter() - start) / rounds
    print(f"(b) _execution_device on an SDXL-size pipeline: diffusers {timings['diffusers'] * 1000:.2f} ms, "
          f"manager's class {timings['manager'] * 1000:.3f} ms per call", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: on a shared machine a 2-thread pool waits for a busy core "
                             "on every small op, which is noise here)")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    stubbed_job(args.size, args.rounds)
    execution_device(args.rounds)


if __name__ == "__main__":
    main()
