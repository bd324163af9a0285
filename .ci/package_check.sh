#!/usr/bin/env bash
# Packaging check: what `pip install nodegraph` gives a user, not what the checkout gives us.
# Builds the wheel from the tracked files, installs it (not editable) into a fresh venv that
# cannot see the checkout or the system's site-packages, and from a folder outside the checkout
# runs the main job, the Orca demo and `nodegraph serve` (GET / and one JS module).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
PY="${PYTHON:-python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nodegraph-pkg.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '[package] %s\n' "$*"; }
# pip, without this machine's notes about absent local index folders.
pip_q() { "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }; }

# 1. The wheel, built from a copy of the files git knows (no stale build/ or egg-info leaks in).
mkdir -p "$WORK/src" "$WORK/dist"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done | tar -C "$REPO" --null -T - -cf - | tar -C "$WORK/src" -xf -
pip_q "$PY" -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK/src"
WHEEL="$(ls "$WORK"/dist/nodegraph-*.whl)"
step "built $(basename "$WHEEL")"
"$PY" - "$WHEEL" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
tops = sorted({n.split("/")[0] + ("/" if "/" in n else "") for n in names})
print("[package] wheel top level:", " ".join(tops))
need = ["nodegraph/web/index.html", "nodegraph/web/js/main.js", "nodegraph/web/style.css",
        "nodegraph_nodes/llm/demo/orca_demo_tasks.jsonl", "nodegraph_nodes/sdxl/demo/tiny_sdxl/unet.json",
        "nodegraph/comfyui/shim/folder_paths.py", "nodegraph/comfyui/shim/comfy/utils.py",
        "nodegraph_nodes/comfy/ksampler.py", "nodegraph_nodes/comfy/demo/configs/sd1_unet.json",
        "nodegraph_nodes/sdxl/demo/tiny_sdxl/merges.txt", "nodegraph_nodes/video/demo/tiny_svd/unet.json"]
missing = [n for n in need if n not in names]
if missing:
    sys.exit(f"[package] FAIL: the wheel lacks {missing}")
print(f"[package] wheel has {len(names)} files, canvas and demo assets included")
EOF

# 2. A fresh venv: torch pinned first (its CPU wheel is on local disk), then the wheel itself.
"$PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
pip_q "$VPY" -m pip install -q torch==2.13.0
pip_q "$VPY" -m pip install -q -c "$REPO/.ci/constraints.txt" "$WHEEL"
NG="$WORK/venv/bin/nodegraph"

# 3. Run as a user would, from a folder outside the checkout, with fresh caches.
mkdir -p "$WORK/user"
cd "$WORK/user"
export NODEGRAPH_CACHE_DIR="$WORK/user/cache" NODEGRAPH_DEMO_DIR="$WORK/user/demo" HF_HUB_OFFLINE=1
installed="$("$VPY" -c 'import nodegraph, nodegraph_nodes; print(nodegraph.__file__, nodegraph_nodes.__file__)')"
case "$installed" in
  "$WORK/venv/"*" $WORK/venv/"*) step "imports from the venv: $installed" ;;
  *) echo "[package] FAIL: nodegraph imported from outside the venv: $installed"; exit 1 ;;
esac
step "$("$NG" --version)"

"$NG" run "$REPO/workflows/lcm_lora_sdxl.json" --out out --quiet
ls out/*.png >/dev/null || { echo "[package] FAIL: the main job wrote no PNG"; exit 1; }
step "main job: $(cd out && ls *.png | tr '\n' ' ')"
ls cache/packages/transformers/*.json >/dev/null 2>&1 \
  || { echo "[package] FAIL: the run kept no transformers scan in its cache folder"; exit 1; }
step "import scans kept: $(ls cache/packages/transformers | wc -l) transformers tables, $(ls cache/packages/*.json | wc -l) package list"

"$NG" run "$REPO/workflows/orca2_explanation_tuning.json" --out out --quiet
ls out/*.jsonl >/dev/null || { echo "[package] FAIL: the Orca demo wrote no dataset"; exit 1; }
step "Orca demo: $(cd out && ls *.jsonl | tr '\n' ' ')"

# A ComfyUI custom-node pack (--comfy-nodes): the adapter, its entry point and the stand-in modules.
mkdir -p custom_nodes/invert_pack
cat > custom_nodes/invert_pack/__init__.py <<'PACK'
import comfy.utils
import folder_paths
class Invert:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": ("IMAGE",)}}
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    def run(self, image):
        comfy.utils.ProgressBar(1).update(1)
        return (1.0 - image,)
NODE_CLASS_MAPPINGS = {"PackageCheckInvert": Invert}
PACK
cat > comfy.json <<'JOB'
{"format": "nodegraph/workflow", "version": 1, "nodes": {
 "s": {"type": "SolidImage", "inputs": {"width": 8, "height": 8}},
 "i": {"type": "PackageCheckInvert", "inputs": {"image": {"from": "s", "output": "image"}}},
 "save": {"type": "SaveImage", "inputs": {"images": {"from": "i", "output": "image"}, "prefix": "comfy"}}}}
JOB
"$NG" run comfy.json --comfy-nodes custom_nodes --out out --quiet
ls out/comfy_*.png >/dev/null || { echo "[package] FAIL: the ComfyUI pack's workflow wrote no PNG"; exit 1; }
step "ComfyUI pack: $(cd out && ls comfy_*.png | tr '\n' ' ')"

# ComfyUI's core nodes (the comfy pack): SD 1.x text → image → SVD video, on the demos built from
# the wheel's configs.
"$NG" run "$REPO/tests/comfy_pack/workflows/txt2img2vid.json" --out out --quiet
ls out/txt2vid_*.webp >/dev/null || { echo "[package] FAIL: the comfy-pack workflow wrote no WebP"; exit 1; }
step "comfy pack: $(cd out && ls txt2vid_*.webp | tr '\n' ' ')"

"$NG" serve --port 0 --data-dir data --out out --device cpu >serve.log 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  grep -q "serving http" serve.log && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat serve.log; echo "[package] FAIL: serve exited"; exit 1; }
  sleep 0.1
done
URL="$(grep -o 'http://[^ #]*' serve.log | head -1)"
[ -n "$URL" ] || { cat serve.log; echo "[package] FAIL: serve printed no address"; exit 1; }
"$VPY" - "$URL" <<'EOF'
import sys, urllib.request
base = sys.argv[1]
for path, kind, marker in (("", "text/html", b"<html"), ("js/main.js", "text/javascript", b"import")):
    with urllib.request.urlopen(base + path, timeout=30) as resp:
        body, ctype = resp.read(), resp.headers.get("Content-Type", "")
    if resp.status != 200 or not ctype.startswith(kind) or marker not in body.lower():
        sys.exit(f"[package] FAIL: GET /{path} -> {resp.status} {ctype}, {len(body)} bytes")
    print(f"[package] GET /{path} -> {resp.status} {ctype}, {len(body)} bytes")
EOF
step "ok: the installed wheel runs the main job, the Orca demo, a ComfyUI pack, the comfy pack and the canvas"
