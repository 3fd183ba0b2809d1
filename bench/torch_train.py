#!/usr/bin/python3
"""Training-step throughput of the zoo models, PyTorch next to tern, in one sitting.

The networks match src/nn/models (lenet300, lenet5, mobilenetv2_tiny) layer for
layer; the step matches bench/bench_nn_train.cpp: batch 64 of 28x28x1 random
inputs, cross-entropy, SGD (lr 0.05, momentum 0.9, Nesterov, weight decay 5e-4),
one step = zero_grad + forward + backward + step.

Usage: /usr/bin/python3 bench/torch_train.py [--tern build/release/bench/bench_nn_train]
         [--baseline OLD_bench_nn_train] [--models lenet300 lenet5 mobilenetv2_tiny]
         [--threads 1 2] [--seconds 2] [--rounds 5]
For each (model, threads) the programs alternate `rounds` times (tern, then the
optional baseline build of tern, then PyTorch, each for `seconds`), so slow
phases of a shared machine hit all of them. Reported: the median round of
each, and the median of the per-round tern/PyTorch ratios.

On a machine whose cores are busy with other work, PyTorch's OpenMP threads
spin at every barrier waiting for a descheduled peer and 2-thread steps
collapse (10-50x); OMP_WAIT_POLICY=passive in the environment (read when torch
loads libgomp) makes them sleep instead, which is the fairer 2-thread figure.
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import time

import torch
import torch.nn as nn


def lenet300():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(),
                         nn.Linear(100, 10))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = []
        if t != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        h = self.body(x)
        return x + h if self.residual else h


def mobilenetv2_tiny():
    layers = [nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()]
    c = 16
    for t, cout, n, s in [(1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 64, 2, 1)]:
        for r in range(n):
            layers.append(InvertedResidual(c, cout, s if r == 0 else 1, t))
            c = cout
    layers += [nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU6(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)]
    return nn.Sequential(*layers)


MODELS = {"lenet300": lenet300, "lenet5": lenet5, "mobilenetv2_tiny": mobilenetv2_tiny}


def set_blas_threads(threads):
    """Debian's torch (BLAS_INFO=generic) calls OpenBLAS but never tells it the
    thread count, so OpenBLAS would run (and spin) on every core whatever
    torch.set_num_threads says. Give it the same count, as a torch built
    against OpenBLAS does itself."""
    for name in ("libopenblas.so.0", "libopenblas.so"):
        try:
            ctypes.CDLL(name).openblas_set_num_threads(threads)
            return True
        except (OSError, AttributeError):
            continue
    return False


def torch_images_per_s(model, threads, seconds, batch=64):
    torch.set_num_threads(threads)
    set_blas_threads(threads)
    torch.manual_seed(7)
    net = MODELS[model]()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(10):  # warm-up: allocator, thread pool
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


def tern_images_per_s(binary, model, threads, seconds):
    out = subprocess.run(
        [binary, f"--benchmark_filter=^train_step/{model}/threads:{threads}/", f"--benchmark_min_time={seconds}",
         "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["benchmarks"][0]["images/s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", default="build/release/bench/bench_nn_train")
    ap.add_argument("--baseline", help="another bench_nn_train (e.g. an older build) measured in the same rounds")
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    have_tern = os.path.exists(a.tern)
    print(f"torch {torch.__version__}, batch 64, 28x28x1, {a.rounds} alternating rounds of {a.seconds}s; "
          f"load average {os.getloadavg()[0]:.1f}")
    base_col = f" {'baseline img/s':>15}" if a.baseline else ""
    print(f"{'model':<17} {'threads':>7} {'tern img/s':>11}{base_col} {'torch img/s':>12} {'ratio of medians':>17} "
          f"{'median ratio':>13}")
    for model in a.models:
        for t in a.threads:
            tern, base, ref = [], [], []
            for _ in range(a.rounds):
                if have_tern:
                    tern.append(tern_images_per_s(a.tern, model, t, a.seconds))
                if a.baseline:
                    base.append(tern_images_per_s(a.baseline, model, t, a.seconds))
                ref.append(torch_images_per_s(model, t, a.seconds))
            tm, rm = (statistics.median(tern) if tern else 0.0), statistics.median(ref)
            bm = f" {statistics.median(base):>15.0f}" if base else ""
            ratios = f"{tm / rm:17.2f} {statistics.median(x / y for x, y in zip(tern, ref)):13.2f}" if tern else ""
            print(f"{model:<17} {t:>7} {tm:>11.0f}{bm} {rm:>12.0f} {ratios}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
