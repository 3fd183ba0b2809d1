#!/usr/bin/python3
"""PyTorch reference for tern's mixed-precision sensitivity and choice
(tests/quant/test_mixed_precision.cpp), written from the method's definition:

A two-layer MLP logits = B relu(A x + Ab) + Bb. For each layer and each width b,
that layer's weight alone becomes s * clamp(round(w / s), -q, q) with
q = 2^(b-1) - 1 and s = max|w| / q per output row (torch.round: half to even,
as tern's nearbyint); the mean cross-entropy on (x, labels) minus the fp32 one
is the layer's loss increase. Then every assignment of widths is tried and the
one with the least summed increase whose packed size ceil(sum(n_l * b_l) / 8)
fits the budget is returned (exhaustive search, not a knapsack).
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import itertools
import math
import sys

import torch
import torch.nn.functional as F

from tensor_bundle import answer_cases


def fake_quantize(w, bits):
    q = 2 ** (bits - 1) - 1
    s = w.abs().amax(dim=1, keepdim=True) / q
    s = torch.where(s > 0, s, torch.ones_like(s))
    return torch.clamp(torch.round(w / s), -q, q) * s


def run_case(p, t):
    x = t["x"].double().reshape(t["x"].shape[0], -1)
    labels = t["labels"].long()
    w = {"A": t["A"].double(), "B": t["B"].double()}
    ab, bb = t["Ab"].double(), t["Bb"].double()
    choices = [int(c) for c in p["choices"]]

    def loss(ws):
        return F.cross_entropy(torch.relu(x @ ws["A"].T + ab) @ ws["B"].T + bb, labels).item()

    fp32 = loss(w)
    table = []
    for name in ("A", "B"):
        row = []
        for b in choices:
            ws = dict(w)
            ws[name] = fake_quantize(w[name], b)
            row.append(loss(ws) - fp32)
        table.append(row)
    sizes = [w["A"].numel(), w["B"].numel()]
    best, bits = math.inf, None
    for pick in itertools.product(range(len(choices)), repeat=2):
        size = (sum(n * choices[k] for n, k in zip(sizes, pick)) + 7) // 8
        total = sum(table[l][k] for l, k in enumerate(pick))
        if size <= p["budget_bytes"] and total < best:
            best, bits = total, [choices[k] for k in pick]
    return {"loss_increase": torch.tensor(table), "bits": torch.tensor(bits, dtype=torch.float64)}


if __name__ == "__main__":
    answer_cases(run_case, sys.argv)
