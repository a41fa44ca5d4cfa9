#!/usr/bin/env bash
# The check on a real GPU (issue 7). NOT RUN YET. On a dev machine first: tools/publish-gpu-check.sh (puts
# .gpucarry/gpucheck.tar.xz, about 27 MiB, into the working tree). Then on the GPU host, from the repository root:
#   RESULTS=<folder> tools/gpu-check.sh
# It records the GPU and driver, the export lists of the CUDA libraries (a CI fixture to come), runs the GraphDl check
# (op parity GPU vs CPU; MLP, LeNet-5 and LSTM training steps vs CPU; bandwidth; SGEMM; the three models' step times)
# and the same measurements in PyTorch, and prints a side-by-side table last. About 5 minutes on an H100; at most about
# 8: the GraphDl check gets a 240 s budget (it stops parity at 120 s and skips sections after 240 s; each step-time
# section times at most 20 s) and is killed at 330 s, PyTorch at 120 s. Both rewrite their JSON after every row, so a
# run cut short still leaves its rows for the table.
# If the GraphDl check fails, its parity and training-step sections run once more without streams
# (GRAPHDL_CUDA_STREAMS=0, killed at 150 s), which can add 2.5 minutes.
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

timeout 330 .gpurun/gpucheck/GraphDl.GpuCheck --budget-s 240 --json "$RESULTS/gpucheck.json" 2>&1 | tee "$RESULTS/gpucheck.txt"
rc=${PIPESTATUS[0]}
# When something failed with streams (the default), the parity and training-step sections once more on the single-stream
# path (no benchmarks: --only "" selects every parity case and skips them), to tell a stream-ordering fault from a kernel one.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
  GRAPHDL_CUDA_STREAMS=0 timeout 150 .gpurun/gpucheck/GraphDl.GpuCheck --only "" --budget-s 120 --json "$RESULTS/gpucheck-nostreams.json" 2>&1 \
    | tee "$RESULTS/gpucheck-nostreams.txt" | tail -25
fi
timeout 120 python3 tools/gpu_check_torch.py --json "$RESULTS/torch.json" 2>&1 | tee "$RESULTS/torch.txt"

python3 - "$RESULTS" <<'PY' | tee "$RESULTS/side-by-side.txt"
import json, sys, os
r = sys.argv[1]
def load(name):
    try:
        return json.load(open(os.path.join(r, name)))
    except Exception as e:
        print(f"side-by-side: no {name} ({e})")
        return {}
rows = load("gpucheck.json").get("rows", [])
g = {row["Name"]: row["Value"] for row in rows}
t = load("torch.json")
def num(v):
    try: return float(v)
    except (TypeError, ValueError): return None
def cell(v): return f"{v:10.2f}" if v is not None else f"{'n/a':>10}"
print("\n== GraphDl vs PyTorch on this GPU (float32, TF32 off unless named)")
print(f"{'measure':32} {'GraphDl':>10} {'PyTorch':>10} {'ratio':>7}  {'target':24} {'PyTorch, inputs on GPU':>22}")
# Step times in ms: GraphDl feeds each batch from host arrays, so its ratio is to PyTorch copying the batch from a CPU
# tensor every step; PyTorch with the batches already on the GPU is shown beside it.
for k in ["mlp step 784-512-512-10 b256", "lenet5 step 28x28 b256", "lstm step t50 i32 h256 b64"]:
    a, b, c = num(g.get(k)), num(t.get(k)), num(t.get(k + " (gpu inputs)"))
    ratio = a / b if a and b else None
    verdict = "" if ratio is None else ("ok" if ratio <= 1.5 else "MISSED")
    print(f"{k:32} {cell(a)} {cell(b)} {ratio if ratio is not None else float('nan'):7.2f}  {'<= 1.5 (ms/step) ' + verdict:24} {cell(c):>22}")
for k, unit, target in [("sgemm 8192 fp32", "TFLOP/s", 0.8), ("sgemm 8192 tf32", "TFLOP/s", 0.8), ("d2d copy", "GB/s", None),
                        ("elementwise add", "GB/s", None)]:
    a, b = num(g.get(k)), num(t.get(k))
    ratio = a / b if a and b else None
    verdict = "" if ratio is None or target is None else ("ok" if ratio >= target else "MISSED")
    goal = f">= {target} ({unit}) {verdict}" if target else f"({unit})"
    print(f"{k:32} {cell(a)} {cell(b)} {ratio if ratio is not None else float('nan'):7.2f}  {goal:24}")
a, c = num(g.get("elementwise add")), num(g.get("d2d copy"))
if a and c: print(f"GraphDl elementwise / its own d2d copy bandwidth: {a / c:.2f} (target >= 0.70)")
for k in ["mlp 5 steps vs cpu", "lenet5 5 steps vs cpu", "lstm 5 steps vs cpu"]:
    if k in g: print(f"{k}: {g[k]}")
for row in rows:
    if row["Value"] in ("error", "skipped"): print(f"GraphDl {row['Name']}: {row['Value']}: {row['Note']}")
for k in ["fp32 precision", "torch", "cuda", "cudnn"]:
    if k in t: print(f"PyTorch {k}: {t[k]}")
for k, v in t.items():
    if isinstance(v, str) and v.startswith("error"): print(f"PyTorch {k}: {v}")
PY
exit "$rc"
