#!/usr/bin/python3
"""PyTorch's eager-mode static int8 PTQ on tern's Fashion-MNIST classifiers: the issue-24 peer.

Loads a tern model file (models/fmnist-*.safetensors) into the same network in
PyTorch, fuses Conv+BN(+ReLU) and Linear+ReLU, quantizes with the default
static qconfig of the engine (onednn here: Debian's torch 1.13 has no fbgemm;
HistogramObserver activations, per-channel symmetric int8 weights), calibrates
on the first N images of the TRAIN split (as `tern quantize --calib
fashion-mnist:train:N` does) and reports:
  - fp32 and int8 accuracy on the full TEST split (10,000 images);
  - int8 latency per batch (median of --runs after warm-up) at batch 1 and 64,
    1 and 2 threads.
With --tern BINARY it also quantizes the same model with tern (QDQ, integer
only) and times `tern bench` on it in the same sitting, alternating.

Usage: /usr/bin/python3 bench/torch_ptq.py [--models lenet300 lenet5 mobilenetv2_tiny]
         [--calib 512] [--runs 50] [--threads 1 2] [--batches 1 64]
         [--tern build/release/tern] [--observer minmax] [--json OUT.json]
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist/"
MEAN, STD = np.float32(0.2860), np.float32(0.3530)


def load_idx_images(name):
    x = np.frombuffer(gzip.open(DATA + name).read()[16:], np.uint8).astype(np.float32)
    return ((x * np.float32(1 / 255) - MEAN) / STD).reshape(-1, 1, 28, 28)


def load_idx_labels(name):
    return np.frombuffer(gzip.open(DATA + name).read()[8:], np.uint8).astype(np.int64)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob[a:b], np.float32).reshape(info["shape"]).copy())
    return out, header.get("__metadata__", {})


class LeNet300(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.fc1, self.relu1 = nn.Linear(784, 300), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(300, 100), nn.ReLU()
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x):
        x = self.quant(torch.flatten(x, 1))
        x = self.relu2(self.fc2(self.relu1(self.fc1(x))))
        return self.dequant(self.fc3(x))

    def fuse(self):
        tq.fuse_modules(self, [["fc1", "relu1"], ["fc2", "relu2"]], inplace=True)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.conv1, self.relu1 = nn.Conv2d(1, 6, 5, padding=2), nn.ReLU()
        self.conv2, self.relu2 = nn.Conv2d(6, 16, 5), nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.relu3 = nn.Linear(400, 120), nn.ReLU()
        self.fc2, self.relu4 = nn.Linear(120, 84), nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.quant(x)
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.pool(self.relu2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu4(self.fc2(self.relu3(self.fc1(x))))
        return self.dequant(self.fc3(x))

    def fuse(self):
        tq.fuse_modules(self, [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"], ["fc2", "relu4"]],
                        inplace=True)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        self.has_expand = t != 1
        if self.has_expand:
            self.expand, self.expand_bn = nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden)
            self.relu_e = nn.ReLU6()
        self.dw = nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False)
        self.dw_bn, self.relu_d = nn.BatchNorm2d(hidden), nn.ReLU6()
        self.project, self.project_bn = nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.residual = stride == 1 and cin == cout
        self.add = nn.quantized.FloatFunctional()

    def forward(self, x):
        h = self.relu_e(self.expand_bn(self.expand(x))) if self.has_expand else x
        h = self.relu_d(self.dw_bn(self.dw(h)))
        h = self.project_bn(self.project(h))
        return self.add.add(x, h) if self.residual else h

    def fuse(self):
        groups = [["dw", "dw_bn"], ["project", "project_bn"]]
        if self.has_expand:
            groups.append(["expand", "expand_bn"])
        tq.fuse_modules(self, groups, inplace=True)


class MobileNetV2Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.stem, self.stem_bn, self.relu_s = nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()
        blocks, c = [], 16
        for t, cout, n, s in [(1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 64, 2, 1)]:
            for r in range(n):
                blocks.append(InvertedResidual(c, cout, s if r == 0 else 1, t))
                c = cout
        self.blocks = nn.Sequential(*blocks)
        self.head, self.head_bn, self.relu_h = nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU6()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        x = self.relu_s(self.stem_bn(self.stem(self.quant(x))))
        x = self.relu_h(self.head_bn(self.head(self.blocks(x))))
        return self.dequant(self.classifier(torch.flatten(self.pool(x), 1)))

    def fuse(self):
        tq.fuse_modules(self, [["stem", "stem_bn"], ["head", "head_bn"]], inplace=True)
        for b in self.blocks:
            b.fuse()


MODELS = {"lenet300": LeNet300, "lenet5": LeNet5, "mobilenetv2_tiny": MobileNetV2Tiny}


def load_model(name):
    path = os.path.join(ROOT, "models", f"fmnist-{name}.safetensors")
    weights, meta = read_safetensors(path)
    if meta.get("tern.model") != name:
        raise SystemExit(f"{path}: tern.model is {meta.get('tern.model')!r}, expected {name!r}")
    model = MODELS[name]()
    state = model.state_dict()
    missing = [k for k in state if k not in weights and not k.endswith("num_batches_tracked")]
    extra = [k for k in weights if k not in state]
    if missing or extra:
        raise SystemExit(f"{path}: names do not match the PyTorch model: missing {missing[:4]}, extra {extra[:4]}")
    model.load_state_dict({k: weights.get(k, state[k]) for k in state})
    return model.eval()


def accuracy(model, x, y, batch=500):
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(torch.from_numpy(x[i:i + batch])).argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / len(x)


def quantize(model, calib, engine):
    torch.backends.quantized.engine = engine
    model.fuse()
    model.qconfig = tq.get_default_qconfig(engine)
    tq.prepare(model, inplace=True)
    with torch.no_grad():
        for i in range(0, len(calib), 64):
            model(torch.from_numpy(calib[i:i + 64]))
    tq.convert(model, inplace=True)
    return model


def torch_latency_ms(model, batch, threads, runs):
    torch.set_num_threads(threads)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((batch, 1, 28, 28), dtype=np.float32))
    times = []
    with torch.no_grad():
        for _ in range(max(3, runs // 10)):
            model(x)
        for _ in range(runs):
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def tern_latency_ms(tern, onnx, batch, threads, runs):
    out = subprocess.run([tern, "bench", onnx, "--runs", str(runs), "--shape", f"{batch}x1x28x28", "-t",
                          str(threads), "--json"], check=True, capture_output=True, text=True).stdout
    return float(json.loads(out)["median_ms"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--calib", type=int, default=512)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--engine", default="onednn")
    ap.add_argument("--tern", help="tern binary: also quantize with tern (QDQ) and time both in one sitting")
    ap.add_argument("--observer", default="minmax", help="tern's activation observer")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args()
    if args.engine not in torch.backends.quantized.supported_engines:
        raise SystemExit(f"engine {args.engine} not in {torch.backends.quantized.supported_engines}")

    calib = load_idx_images("train-images-idx3-ubyte.gz")[:args.calib]
    x, y = load_idx_images("t10k-images-idx3-ubyte.gz"), load_idx_labels("t10k-labels-idx1-ubyte.gz")
    rows = []
    print(f"torch {torch.__version__}, engine {args.engine}, calibration: first {args.calib} TRAIN images, "
          f"accuracy: TEST split ({len(x)} images)")
    print("| model | fp32 % | PyTorch int8 % | tern int8 % | batch | threads | PyTorch int8 ms | tern int8 ms | tern/PyTorch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            fp32 = accuracy(load_model(name), x, y)
            qmodel = quantize(load_model(name), calib, args.engine)
            q_acc = accuracy(qmodel, x, y)
            tern_acc, onnx = None, None
            if args.tern:
                onnx = os.path.join(tmp, f"{name}.onnx")
                subprocess.run([args.tern, "quantize", os.path.join(ROOT, "models", f"fmnist-{name}.safetensors"),
                                "-o", onnx, "--method", args.observer, "--calib", f"fashion-mnist:train:{args.calib}"],
                               check=True, capture_output=True)
                ev = subprocess.run([args.tern, "eval", onnx, "--data", "fashion-mnist", "--json"], check=True,
                                    capture_output=True, text=True).stdout
                tern_acc = json.loads(ev)["accuracy"]
            for batch in args.batches:
                for threads in args.threads:
                    # Alternate the two runtimes so a slow phase of a shared machine hits both.
                    t_ms, n_ms = [], []
                    for _ in range(3):
                        t_ms.append(torch_latency_ms(qmodel, batch, threads, args.runs))
                        if onnx:
                            n_ms.append(tern_latency_ms(args.tern, onnx, batch, threads, args.runs))
                    t = statistics.median(t_ms)
                    n = statistics.median(n_ms) if n_ms else None
                    row = dict(model=name, fp32=fp32, torch_int8=q_acc, tern_int8=tern_acc, batch=batch,
                               threads=threads, torch_ms=t, tern_ms=n)
                    rows.append(row)
                    fmt = lambda v, f: (f % v) if v is not None else "-"
                    print(f"| {name} | {100 * fp32:.2f} | {100 * q_acc:.2f} | {fmt(tern_acc and 100 * tern_acc, '%.2f')} "
                          f"| {batch} | {threads} | {t:.3f} | {fmt(n, '%.3f')} | {fmt(n and n / t, '%.2f')} |",
                          flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
