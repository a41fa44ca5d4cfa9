#!/usr/bin/env python3
"""PyTorch side of the GPU check (issue 7): the same measurements as tools/GraphDl.GpuCheck, on the same GPU.

Training steps (SGD, CrossEntropyLoss, float32 with TF32 off in cuBLAS and cuDNN, as GraphDl runs them), median ms/step
of up to 20 steps after 5 warm-up steps (fewer once the timed steps took 20 s), each step ending with loss.item():
  - MLP 784-512-512-10 (ReLU), batch 256, lr 0.1;
  - LeNet-5 (Conv2d 5x5 6 padding 2, ReLU, MaxPool 2, Conv2d 5x5 16, ReLU, MaxPool 2, Linear 400-120-84-10 with ReLU)
    on 1x28x28 images, batch 256, lr 0.05;
  - LSTM (nn.LSTM 32 -> 256, batch_first, cuDNN) over 50 steps, its last output -> Linear 256-10, batch 64, lr 0.5.
The batches are GraphDl's (Training.Batch in tools/GraphDl.GpuCheck/Training.cs): 4 batches fed in turn. Each model is
timed twice: "host-fed", the batch copied from a CPU tensor every step (x_cpu.to('cuda'), like a DataLoader without
pin_memory), as GraphDl feeds its batch from host arrays every step; and "gpu inputs", the batches already on the GPU.
The side-by-side ratio in tools/gpu-check.sh uses the host-fed time. Also cuBLAS SGEMM 8192^3 in float32 (TF32 off) and
TF32, device-to-device copy and elementwise add of 256 MiB buffers. Every measurement catches its own exception and
records it as a string; the JSON (--json) is rewritten after each one. --dry-run runs every code path on the CPU with
3 timed steps and small buffers (the numbers mean nothing: it checks the script where there is no GPU). Not run on a
GPU yet: written without one, and dry-run on the CPU with PyTorch 1.13.
"""
import argparse
import json
import math
import sys
import time
import traceback

import torch

# Key names shared with GraphDl.GpuCheck's rows (tools/gpu-check.sh matches them).
MLP = "mlp step 784-512-512-10 b256"
LENET = "lenet5 step 28x28 b256"
LSTM = "lstm step t50 i32 h256 b64"
GPU_INPUTS = " (gpu inputs)"
BATCHES = 4
WARMUP, STEPS, MAX_TIMED_S = 5, 20, 20.0
DEV = "cuda"
GEMM_N, BUFFER = 8192, 64 << 20


def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def batch(n, size, classes, k):
    """GraphDl's Training.Batch: labels (7i + 3k) mod classes; values 0.5 sin(0.37 (i size + j) + 0.9 k)
    + 0.5 sin(0.11 (label + 1) j) in float64, rounded to float32."""
    i = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    j = torch.arange(size, dtype=torch.float64).unsqueeze(0)
    y = (7 * torch.arange(n) + 3 * k) % classes
    x = 0.5 * torch.sin(0.37 * (i * size + j) + 0.9 * k) + 0.5 * torch.sin(0.11 * (y.unsqueeze(1).double() + 1) * j)
    return x.float(), y.long()


class LeNet5(torch.nn.Module):
    def __init__(self):
        super().__init__()
        r = torch.nn.ReLU()
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(1, 6, 5, padding=2), r, torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(6, 16, 5), r, torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(16 * 5 * 5, 120), r, torch.nn.Linear(120, 84), r, torch.nn.Linear(84, 10))

    def forward(self, x):
        return self.net(x)


class LstmClassifier(torch.nn.Module):
    def __init__(self, inputs, units, classes):
        super().__init__()
        self.lstm = torch.nn.LSTM(inputs, units, batch_first=True)
        self.out = torch.nn.Linear(units, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.out(y[:, -1])


def models():
    """name -> (model factory, example shape for PyTorch, batch, lr)."""
    return {
        MLP: (lambda: torch.nn.Sequential(
            torch.nn.Linear(784, 512), torch.nn.ReLU(),
            torch.nn.Linear(512, 512), torch.nn.ReLU(),
            torch.nn.Linear(512, 10)), (784,), 256, 0.1),
        LENET: (LeNet5, (1, 28, 28), 256, 0.05),
        LSTM: (lambda: LstmClassifier(32, 256, 10), (50, 32), 64, 0.5),
    }


def tf32_off():
    """TF32 off in cuBLAS and cuDNN (GraphDl runs float32 without TF32). The legacy flags only: PyTorch 2.9+ warns
    that they are deprecated but maps them onto its per-backend fp32_precision settings, while mixing the two APIs can
    raise."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def fp32_precision():
    """What PyTorch reports for float32 math after tf32_off(), to record in the results."""
    parts = [f"matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}", f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}"]
    for name, obj in [("matmul", torch.backends.cuda.matmul), ("cudnn.conv", getattr(torch.backends.cudnn, "conv", None)),
                      ("cudnn.rnn", getattr(torch.backends.cudnn, "rnn", None))]:
        try:
            parts.append(f"{name}.fp32_precision={obj.fp32_precision}")
        except Exception:  # before PyTorch 2.9 there is no such setting (1.13's matmul object raises AssertionError)
            pass
    return ", ".join(parts)


def step_ms(factory, shape, n, lr, host_fed):
    """Median ms/step (and the losses) of SGD steps fed from CPU tensors (host_fed) or from GPU-resident ones."""
    tf32_off()
    torch.manual_seed(0)
    dev = DEV
    size = math.prod(shape)
    cpu = [batch(n, size, 10, k) for k in range(BATCHES)]
    cpu = [(x.reshape(n, *shape), y) for x, y in cpu]
    on_gpu = [(x.to(dev), y.to(dev)) for x, y in cpu]
    model = factory().to(dev)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    times, losses, timed = [], [], 0.0
    for step in range(WARMUP + STEPS):
        sync()
        t0 = time.perf_counter()
        if host_fed:
            xc, yc = cpu[step % BATCHES]
            x, y = xc.to(dev), yc.to(dev)
        else:
            x, y = on_gpu[step % BATCHES]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())  # GraphDl's step fetches the loss to the host too (and so synchronizes)
        sync()
        ms = (time.perf_counter() - t0) * 1e3
        if step < WARMUP:
            continue
        times.append(ms)
        timed += ms / 1e3
        if len(times) >= 3 and timed >= MAX_TIMED_S:
            break
    times.sort()
    if not all(math.isfinite(v) for v in losses):
        raise RuntimeError(f"loss not finite: {losses}")
    return times[len(times) // 2], losses


def timed(fn, reps):
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t0) / reps


def sgemm_tflops(n, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        a = torch.randn(n, n, device=DEV)
        b = torch.randn(n, n, device=DEV)
        torch.mm(a, b)
        s = timed(lambda: torch.mm(a, b), 10)
        return 2.0 * n ** 3 / s / 1e12
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False


def copy_gbs():
    n = BUFFER
    a = torch.empty(n, device=DEV)
    b = torch.empty(n, device=DEV)
    b.copy_(a)
    s = timed(lambda: b.copy_(a), 20)
    return 2.0 * 4 * n / s / 1e9


def add_gbs():
    n = BUFFER
    a = torch.empty(n, device=DEV)
    b = torch.empty(n, device=DEV)
    c = torch.empty(n, device=DEV)
    torch.add(a, b, out=c)
    s = timed(lambda: torch.add(a, b, out=c), 20)
    return 3.0 * 4 * n / s / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--dry-run", action="store_true", help="run every code path on the CPU, briefly (no GPU needed)")
    args = ap.parse_args()
    global DEV, WARMUP, STEPS, GEMM_N, BUFFER
    if args.dry_run:
        DEV, WARMUP, STEPS, GEMM_N, BUFFER = "cpu", 1, 3, 512, 1 << 20
    rows = {}

    def save():
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=2)

    def measure(key, fn):
        try:
            v = fn()
            rows[key] = v
            print(f"torch {key}: {v:.2f}" if isinstance(v, float) else f"torch {key}: {v}", flush=True)
        except Exception as e:  # one failing measurement must not lose the others
            rows[key] = f"error: {type(e).__name__}: {e}"
            print(f"torch {key}: error", flush=True)
            traceback.print_exc()
        save()

    measure("torch", lambda: torch.__version__)
    measure("cuda", lambda: str(torch.version.cuda))
    measure("cudnn", lambda: str(torch.backends.cudnn.version()))
    measure("device", lambda: torch.cuda.get_device_name(0) if DEV == "cuda" else "cpu (dry run)")
    measure("cudnn.benchmark", lambda: str(torch.backends.cudnn.benchmark))
    tf32_off()
    measure("fp32 precision", fp32_precision)
    for name, (factory, shape, n, lr) in models().items():
        for host_fed in (True, False):
            key = name if host_fed else name + GPU_INPUTS

            def run(factory=factory, shape=shape, n=n, lr=lr, host_fed=host_fed, key=key):
                ms, losses = step_ms(factory, shape, n, lr, host_fed)
                print(f"torch {key}: losses {' '.join(f'{v:.4g}' for v in losses)}", flush=True)
                return ms

            measure(key, run)
    measure("sgemm 8192 fp32", lambda: sgemm_tflops(GEMM_N, False))
    measure("sgemm 8192 tf32", lambda: sgemm_tflops(GEMM_N, True))
    measure("d2d copy", copy_gbs)
    measure("elementwise add", add_gbs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
