#!/usr/bin/env bash
# The check on a real GPU (issue 7). NOT RUN YET. On a dev machine first: tools/publish-gpu-check.sh (puts
# .gpucarry/gpucheck.tar.xz, about 27 MiB, into the working tree). Then on the GPU host, from the repository root:
#   RESULTS=<folder> tools/gpu-check.sh
# It records the GPU and driver, the export lists of the CUDA libraries (a CI fixture to come), runs the GraphDl check
# (op parity GPU vs CPU, MLP steps vs CPU, bandwidth, SGEMM, MLP step time) and the same measurements in PyTorch, and
# prints a side-by-side table last. About 5 minutes.
set -u
cd "$(dirname "$0")/.."
RESULTS=${RESULTS:-results}
mkdir -p "$RESULTS" .gpurun
tar -xJf .gpucarry/gpucheck.tar.xz -C .gpurun || { echo "no .gpucarry/gpucheck.tar.xz: run tools/publish-gpu-check.sh first"; exit 2; }

# CUDA 13 libraries from the pip wheels' nvidia/ namespace folder, when PyTorch brought them.
NV=$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null || true)
if [ -n "$NV" ]; then
  dirs=""
  for d in "$NV"/cu13/lib "$NV"/cublas/lib "$NV"/cudnn/lib "$NV"/cuda_nvrtc/lib; do [ -d "$d" ] && dirs="$dirs${dirs:+:}$d"; done
  export GRAPHDL_CUDA_LIB_DIRS="$dirs"
  export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
echo "GRAPHDL_CUDA_LIB_DIRS=${GRAPHDL_CUDA_LIB_DIRS:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$RESULTS/nvidia-smi.csv"
date -u +%Y-%m-%dT%H:%MZ | tee "$RESULTS/date.txt"

# Export lists of the libraries GraphDl binds (to be committed as a CI fixture: every declared entry point must exist).
for l in libcuda.so.1 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13; do
  p=$(ldconfig -p | awk -v l="$l" '$1==l {print $NF; exit}')
  [ -z "$p" ] && for d in ${GRAPHDL_CUDA_LIB_DIRS//:/ }; do [ -e "$d/$l" ] && p="$d/$l" && break; done
  [ -n "$p" ] && nm -D --defined-only "$p" | awk '{print $3}' | sort > "$RESULTS/exports-$l.txt" && echo "exports: $l from $p"
done

timeout 300 .gpurun/gpucheck/GraphDl.GpuCheck --json "$RESULTS/gpucheck.json" 2>&1 | tee "$RESULTS/gpucheck.txt"
rc=${PIPESTATUS[0]}
timeout 180 python3 tools/gpu_check_torch.py --json "$RESULTS/torch.json" 2>&1 | tee "$RESULTS/torch.txt"

python3 - "$RESULTS" <<'PY'
import json, sys, os
r = sys.argv[1]
try:
    g = {row["Name"]: row["Value"] for row in json.load(open(os.path.join(r, "gpucheck.json")))["rows"]}
    t = json.load(open(os.path.join(r, "torch.json")))
except Exception as e:
    print(f"side-by-side: missing results ({e})"); sys.exit(0)
def num(v):
    try: return float(v)
    except (TypeError, ValueError): return None
print("\n== GraphDl vs PyTorch on this GPU")
print(f"{'measure':32} {'GraphDl':>10} {'PyTorch':>10} {'ratio':>8}   target")
for k, target in [("mlp step 784-512-512-10 b256", "<= 1.5 (ms, GraphDl/PyTorch)"),
                  ("sgemm 8192 fp32", ">= 0.8 (TFLOP/s)"), ("sgemm 8192 tf32", ">= 0.8 (TFLOP/s)"),
                  ("d2d copy", "(GB/s)"), ("elementwise add", "(GB/s)")]:
    a, b = num(g.get(k)), num(t.get(k))
    ratio = f"{a / b:8.2f}" if a and b else "     n/a"
    print(f"{k:32} {a if a is not None else float('nan'):10.2f} {b if b is not None else float('nan'):10.2f} {ratio}   {target}")
a, c = num(g.get("elementwise add")), num(g.get("d2d copy"))
if a and c: print(f"GraphDl elementwise / its own d2d copy bandwidth: {a / c:.2f} (target >= 0.70)")
PY
exit "$rc"
