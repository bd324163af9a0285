#!/usr/bin/env bash
# Issue 11's GPU figures in one run: warm engine vs diffusers and the UNet-step baseline
# (lcm_overhead.py --full), the cold CLI run before/after (cold_start.py --full) and fast mode
# (fast_mode.py --full), all on the real SDXL-size architecture with random weights, 1024², fp16.
#
#   bash benchmarks/gpu_speed.sh               # on a CUDA machine with this repo pip-installed
#   bash benchmarks/gpu_speed.sh --cpu-check   # the same code paths at tiny scale on a CPU (~minutes)
#
# WORK (default /tmp/nodegraph-gpu-speed) keeps the random model between the three scripts.
# Expected on an H200: ~6 minutes (model build ~1 min, compile ~1.5 min).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
WORK=${WORK:-/tmp/nodegraph-gpu-speed}
DEVICE=cuda
ROUNDS=3
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

python - "$DEVICE" <<'EOF'
import importlib, sys
missing = []
for name in ("torch", "diffusers", "transformers", "peft", "safetensors", "accelerate", "PIL", "numpy",
             "nodegraph", "nodegraph_nodes"):
    try:
        importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001
        missing.append(f"{name} ({type(exc).__name__}: {exc})")
if missing:
    sys.exit("gpu_speed.sh: missing packages: " + "; ".join(missing)
             + "\n  install the repo first: pip install -e . (keep the machine's CUDA torch)")
import torch
if sys.argv[1] == "cuda" and not torch.cuda.is_available():
    sys.exit("gpu_speed.sh: torch sees no CUDA device (torch %s)" % torch.__version__)
import diffusers
print(f"torch {torch.__version__}, diffusers {diffusers.__version__}, "
      f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}", flush=True)
EOF

t0=$(date +%s)
echo "== 1/3 warm: engine vs direct diffusers, UNet step no LoRA / fused / unfused =="
python benchmarks/lcm_overhead.py --full --device "$DEVICE" --rounds "$ROUNDS" --steps 5 --workdir "$WORK" "${EXTRA[@]}"
echo "== 2/3 cold: one fresh nodegraph run process per image =="
python benchmarks/cold_start.py --full --device "$DEVICE" --workdir "$WORK" "${EXTRA[@]}"
echo "== 3/3 fast mode: --compile vs eager =="
python benchmarks/fast_mode.py --full --device "$DEVICE" --rounds "$ROUNDS" --workdir "$WORK" "${EXTRA[@]}"
echo "gpu_speed.sh: done in $(( $(date +%s) - t0 )) s"
