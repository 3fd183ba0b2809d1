#!/usr/bin/env python3
"""Independent check of one-shot OBD against magnitude pruning on LeNet-5 (issue 25).

Plain PyTorch on tern's trained file (models/fmnist-lenet5.safetensors, loaded by
bench/torch_ptq.py): diagonal empirical Fisher F_ii = mean over mini-batches of the
squared loss gradient on the first 2048 TRAIN images, saliency 0.5 F_ii w_i^2,
the lowest 70 % of every Conv/Linear weight zeroed (layer-wise), TEST accuracy.
Then each layer alone pruned by OBD and by magnitude, to show where OBD loses.
    /usr/bin/python3 bench/torch_obd_check.py [SPARSITY]
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ptq as tp  # noqa: E402

torch.set_num_threads(1)
SPARSITY = float(sys.argv[1]) if len(sys.argv) > 1 else 0.7
x = torch.from_numpy(tp.load_idx_images("train-images-idx3-ubyte.gz")[:2048])
y = torch.from_numpy(tp.load_idx_labels("train-labels-idx1-ubyte.gz")[:2048])
xt, yt = tp.load_idx_images("t10k-images-idx3-ubyte.gz"), tp.load_idx_labels("t10k-labels-idx1-ubyte.gz")


def weights(m):
    return [(n, p) for n, p in m.named_parameters() if n.endswith("weight")]


def fisher(batch):
    m = tp.load_model("lenet5")
    m.eval()
    f = [torch.zeros_like(w) for _, w in weights(m)]
    for b0 in range(0, len(x), batch):
        m.zero_grad()
        torch.nn.functional.cross_entropy(m(x[b0:b0 + batch]), y[b0:b0 + batch]).backward()
        for fi, (_, w) in zip(f, weights(m)):
            fi += w.grad ** 2
    return [fi * batch / len(x) for fi in f]


def pruned_accuracy(method, f, layers):
    m = tp.load_model("lenet5")
    m.eval()
    with torch.no_grad():
        for i, (_, w) in enumerate(weights(m)):
            if i not in layers:
                continue
            s = 0.5 * f[i] * w * w if method == "obd" else w.abs()
            w.view(-1)[torch.argsort(s.flatten())[:int(SPARSITY * w.numel())]] = 0
    return tp.accuracy(m, xt, yt)


f8, f1 = fisher(8), fisher(1)
every = set(range(5))
print(f"every layer {SPARSITY:.0%}: magnitude {pruned_accuracy('magnitude', f8, every):.4f}  "
      f"obd(batch 8) {pruned_accuracy('obd', f8, every):.4f}  obd(batch 1) {pruned_accuracy('obd', f1, every):.4f}")
for i, (name, _) in enumerate(weights(tp.load_model("lenet5"))):
    print(f"only {name}: magnitude {pruned_accuracy('magnitude', f8, {i}):.4f}  obd(batch 8) {pruned_accuracy('obd', f8, {i}):.4f}")
