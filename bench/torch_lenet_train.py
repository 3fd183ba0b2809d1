#!/usr/bin/python3
"""LeNet-5 training-step throughput, PyTorch next to tern, in one run.

The net, batch and step match bench/bench_nn_lenet.cpp: conv(1->6, 5x5) - relu -
maxpool 2 - conv(6->16, 5x5) - relu - maxpool 2 - fc 400->120 - relu -
fc 120->84 - relu - fc 84->10, cross-entropy, SGD (lr 0.01, momentum 0.9),
batch 64 of 32x32 inputs; one step = zero_grad + forward + backward + step.

Usage: /usr/bin/python3 bench/torch_lenet_train.py [--tern build/release/bench/bench_nn_lenet]
         [--threads 1 2] [--seconds 5] [--rounds 3]
For each thread count the two programs run alternately `rounds` times and the
best round of each is reported (the machine may be shared: best-of filters
out interference rather than averaging it in).
"""
import argparse
import json
import os
import subprocess
import time

import torch
import torch.nn as nn


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def torch_images_per_s(threads, seconds, batch=64):
    torch.set_num_threads(threads)
    torch.manual_seed(7)
    net = lenet5()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 1, 32, 32)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(20):  # warm-up: allocator, thread pool
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


def tern_images_per_s(binary, threads, seconds):
    out = subprocess.run(
        [binary, f"--benchmark_filter=BM_LeNet5TrainStep/{threads}/", f"--benchmark_min_time={seconds}",
         "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["benchmarks"][0]["images/s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", default="build/release/bench/bench_nn_lenet")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(f"torch {torch.__version__}, batch 64, best of {a.rounds} rounds of {a.seconds}s each")
    print(f"{'threads':>7} {'tern img/s':>11} {'torch img/s':>12} {'tern/torch':>10}")
    for t in a.threads:
        tern_best = torch_best = 0.0
        for _ in range(a.rounds):
            if os.path.exists(a.tern):
                tern_best = max(tern_best, tern_images_per_s(a.tern, t, a.seconds))
            torch_best = max(torch_best, torch_images_per_s(t, a.seconds))
        ratio = f"{tern_best / torch_best:10.2f}" if tern_best else f"{'n/a':>10}"
        print(f"{t:>7} {tern_best:>11.0f} {torch_best:>12.0f} {ratio}", flush=True)


if __name__ == "__main__":
    main()
