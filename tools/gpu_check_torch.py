#!/usr/bin/env python3
"""PyTorch side of the GPU check (issue 7): the same measurements as tools/GraphDl.GpuCheck, on the same GPU.

MLP 784-512-512-10, batch 256, SGD lr 0.1, synthetic inputs sin(0.37 i) and labels i % 10 (median ms/step of 20 after
5 warm-up steps); cuBLAS SGEMM 8192^3 in float32 (TF32 off) and TF32; device-to-device copy of 256 MiB. Not run yet:
written without a GPU or PyTorch at hand.
"""
import argparse
import json
import time

import torch


def timed(fn, reps):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


def mlp_ms_per_step():
    torch.manual_seed(0)
    dev = "cuda"
    batch, features, hidden, classes = 256, 784, 512, 10
    i = torch.arange(batch * features, dtype=torch.float32, device=dev)
    x = torch.sin(i * 0.37).reshape(batch, features)
    y = (torch.arange(batch, device=dev) % classes).long()
    model = torch.nn.Sequential(
        torch.nn.Linear(features, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, classes)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for step in range(25):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()  # GraphDl's step fetches the loss to the host too
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    times = sorted(times[5:])
    return times[len(times) // 2]


def sgemm_tflops(n, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    a = torch.randn(n, n, device="cuda")
    b = torch.randn(n, n, device="cuda")
    torch.mm(a, b)
    s = timed(lambda: torch.mm(a, b), 10)
    return 2.0 * n ** 3 / s / 1e12


def copy_gbs():
    n = 64 << 20
    a = torch.empty(n, device="cuda")
    b = torch.empty(n, device="cuda")
    b.copy_(a)
    s = timed(lambda: b.copy_(a), 20)
    return 2.0 * 4 * n / s / 1e9


def add_gbs():
    n = 64 << 20
    a = torch.empty(n, device="cuda")
    b = torch.empty(n, device="cuda")
    c = torch.empty(n, device="cuda")
    torch.add(a, b, out=c)
    s = timed(lambda: torch.add(a, b, out=c), 20)
    return 3.0 * 4 * n / s / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0),
        "mlp step 784-512-512-10 b256": mlp_ms_per_step(),
        "sgemm 8192 fp32": sgemm_tflops(8192, False),
        "sgemm 8192 tf32": sgemm_tflops(8192, True),
        "d2d copy": copy_gbs(),
        "elementwise add": add_gbs(),
    }
    for k, v in rows.items():
        print(f"torch {k}: {v:.2f}" if isinstance(v, float) else f"torch {k}: {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
