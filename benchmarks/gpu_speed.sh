#!/usr/bin/env bash
# Issue 11's GPU figures in one run: warm engine vs diffusers and the UNet-step baseline
# (lcm_overhead.py --full), the cold CLI run before/after, each without and with a bytecode cache
# (cold_start.py --full), and fast mode (fast_mode.py --full), all on the real SDXL-size
# architecture with random weights, 1024², fp16. Then what a warm image costs outside the UNet
# and VAE (sampling_overhead.py, CPU side).
#
#   bash benchmarks/gpu_speed.sh               # on a CUDA machine
#   bash benchmarks/gpu_speed.sh --cpu-check   # the same code paths at tiny scale on a CPU (~minutes)
#   PARTS=cold bash benchmarks/gpu_speed.sh    # a subset: any of warm,cold,lean,fast,behind,overhead,
#                                              #   ablate,lean-ablate,loads,compile,warmup
#   COLD_PROFILE=FILE                          # where the cProfile of one cold process goes
#   COLD_NO_PYC=1                              # also the cold rows without a bytecode cache
#
# Unless this repo is installed editable (pip install -e .) with diffusers and pydantic, the
# script installs wheels found in .whl/ (carried there: see the device notes; the GPU image has
# torch, transformers, peft and accelerate but not diffusers, pydantic or websockets) and this
# repo into $SITE with pip --no-index (nothing is fetched), and puts $SITE first on PYTHONPATH.
# WORK (default /tmp/nodegraph-gpu-speed) keeps the random model between the scripts.
# Expected on an H200: ~7 minutes (model build ~1 min, compile ~1-1.5 min, 11 cold processes with
# bytecode ~3 min). COLD_NO_PYC=1 adds the rows without a bytecode cache (30-47 s a process there:
# ~5 more minutes, so run PARTS=cold alone then, within one command's 10 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
PY=${PYTHON:-$(command -v python3 || command -v python)}
WORK=${WORK:-/tmp/nodegraph-gpu-speed}
SITE=${SITE:-/tmp/nodegraph-site}
# Not by default: lean (the cold rows in a lean environment, ~3 minutes), behind (a server queue
# with PNGs written behind the jobs, ~1 minute), compile (fast mode's compile wait in fresh
# processes, with and without nested regions: two empty-cache compiles, ~4-5 minutes), warmup
# (the first job after `nodegraph serve` starts, with and without --warmup, eager and compiled).
PARTS=${PARTS:-warm,cold,fast,overhead}
DEVICE=cuda
ROUNDS=3
COLD_ROUNDS=${COLD_ROUNDS:-1}
EXTRA=()
if [[ "${1:-}" == "--cpu-check" ]]; then
    # Tiny configs through the --full paths; aot_eager instead of minutes of C++ codegen.
    export NODEGRAPH_BENCH_SCALE=tiny NODEGRAPH_COMPILE_BACKEND=aot_eager
    WORK=${WORK}-cpu-check
    DEVICE=cpu
    ROUNDS=1
    EXTRA=(--size 64)
fi
mkdir -p "$WORK"

# This repo's packs, not another checkout's that happens to be installed.
if ! "$PY" -c "import os, sys, diffusers, pydantic, nodegraph_nodes.sdxl as s
sys.exit(not os.path.samefile(os.path.dirname(os.path.dirname(s.__file__)), 'nodes'))" 2>/dev/null; then
    echo "installing into $SITE (pip --no-index): $(ls .whl/*.whl 2>/dev/null | wc -l) carried wheels and this repo"
    if compgen -G ".whl/*.whl" >/dev/null; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
    fi
    "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi

"$PY" - "$DEVICE" <<'EOF'
import importlib, sys
missing = []
for name in ("torch", "diffusers", "transformers", "peft", "safetensors", "accelerate", "PIL", "numpy",
             "pydantic", "nodegraph", "nodegraph_nodes.sdxl"):
    try:
        importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001
        missing.append(f"{name} ({type(exc).__name__}: {exc})")
if missing:
    sys.exit("gpu_speed.sh: missing packages: " + "; ".join(missing)
             + "\n  carry their wheels in .whl/ (device notes) or pip install -e . (keep the machine's torch)")
import torch
if sys.argv[1] == "cuda" and not torch.cuda.is_available():
    sys.exit("gpu_speed.sh: torch sees no CUDA device (torch %s)" % torch.__version__)
import diffusers
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, diffusers {diffusers.__version__}, "
      f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}", flush=True)
EOF

t0=$(date +%s)
if [[ ",$PARTS," == *",warm,"* ]]; then
    echo "== warm: engine vs direct diffusers, UNet step no LoRA / fused / unfused =="
    "$PY" benchmarks/lcm_overhead.py --full --device "$DEVICE" --rounds "$ROUNDS" --steps 5 --workdir "$WORK" "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",cold,"* ]]; then
    echo "== cold: one fresh nodegraph run process per image, without and with a bytecode cache =="
    NO_PYC=(--pyc-only)
    [[ "${COLD_NO_PYC:-0}" == 1 ]] && NO_PYC=()
    "$PY" benchmarks/cold_start.py --full --device "$DEVICE" --rounds "$COLD_ROUNDS" --workdir "$WORK" \
        --profile "${COLD_PROFILE:-$WORK/cold.prof}" "${NO_PYC[@]}" "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",lean,"* ]]; then
    echo "== cold, in a lean environment: only nodegraph and its dependencies (lean_env.py) =="
    rm -rf "$WORK/lean"
    LEAN_PY=$("$PY" benchmarks/lean_env.py "$WORK/lean")
    "$PY" benchmarks/cold_start.py --full --device "$DEVICE" --rounds "$COLD_ROUNDS" --workdir "$WORK" \
        --python "$LEAN_PY" --pyc-only "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",ablate,"* ]]; then
    echo "== cold, what each speed-up is worth: the usual cold run and the same with one turned off =="
    "$PY" benchmarks/cold_start.py --full --device "$DEVICE" --rounds "${ABLATE_ROUNDS:-2}" --workdir "$WORK" \
        --ablate "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",lean-ablate,"* ]]; then
    echo "== the same in a lean environment: only nodegraph and its dependencies (lean_env.py) =="
    rm -rf "$WORK/lean"
    LEAN_PY=$("$PY" benchmarks/lean_env.py "$WORK/lean")
    "$PY" benchmarks/cold_start.py --full --device "$DEVICE" --rounds "${ABLATE_ROUNDS:-2}" --workdir "$WORK" \
        --python "$LEAN_PY" --ablate --importtime "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",loads,"* ]]; then
    echo "== where loading goes, and what overlaps (fresh processes, then one warm process) =="
    "$PY" benchmarks/load_parts.py --full --device "$DEVICE" --rounds "${ABLATE_ROUNDS:-2}" --workdir "$WORK"
fi
if [[ ",$PARTS," == *",fast,"* ]]; then
    echo "== fast mode: --compile vs eager, and the other nested-region choice (time-to-image and PNG apart) =="
    "$PY" benchmarks/fast_mode.py --full --device "$DEVICE" --rounds "$ROUNDS" --workdir "$WORK" --regions-ablate "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",compile,"* ]]; then
    echo "== fast mode's compile wait: fresh --compile processes, nested regions vs blocks inline =="
    "$PY" benchmarks/compile_time.py --full --device "$DEVICE" --rounds 1 --workdir "$WORK" "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",warmup,"* ]]; then
    echo "== the first job after nodegraph serve starts, with --warmup and without (fresh processes) =="
    "$PY" benchmarks/server_warmup.py --full --device "$DEVICE" --workdir "$WORK" "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",behind,"* ]]; then
    echo "== server queue: PNGs written behind the jobs vs inside them =="
    "$PY" benchmarks/write_behind.py --full --device "$DEVICE" --workdir "$WORK" --jobs 6 --rounds 3 "${EXTRA[@]}"
fi
if [[ ",$PARTS," == *",overhead,"* ]]; then
    echo "== outside the UNet/VAE: tiny model with both stubbed (host CPU), _execution_device at SDXL size =="
    "$PY" benchmarks/sampling_overhead.py --rounds "$ROUNDS"
fi
echo "gpu_speed.sh: done in $(( $(date +%s) - t0 )) s"
