#!/usr/bin/python3
"""PyTorch reference for tern's AdaRound (tests/quant/test_adaround.cpp).

Transcribes Nagel et al. 2020 directly on input rows, independently of tern's
Gram-matrix formulation: soft weights s * clip(floor(w/s) + h(V), -qmax, qmax),
h(V) = clip(sigmoid(V) (zeta - gamma) + gamma, 0, 1), V initialised so that
h(V) = w/s - floor(w/s); loss = mean over rows of the summed squared output
error (x_q w~ - x_f w) plus, after the warm-up, lambda * sum(1 - |2h - 1|^beta)
with beta falling linearly from beta_start to beta_end; torch.optim.Adam on V,
autograd for the gradients, float64. Returns the loss before each step, the
final h(V) and the hard codes (round up where V >= 0).
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import sys

import torch

from tensor_bundle import answer_cases


def adaround(p, t):
    xq, xf = t["xq"].double(), t["xf"].double()  # (groups, rows, K)
    w, s = t["w"].double(), t["s"].double()       # (C, K), (C)
    groups, (channels, _) = xq.shape[0], w.shape
    per = channels // groups
    qmax, zeta, gamma = p["qmax"], p["zeta"], p["gamma"]
    iters, warm = p["iterations"], int(p["warmup"] * p["iterations"])
    x = w / s[:, None]
    floor = torch.floor(x)
    rest = x - floor
    v = (-torch.log((zeta - gamma) / (rest - gamma) - 1)).requires_grad_(True)
    opt = torch.optim.Adam([v], lr=p["lr"])
    losses = []
    for t_ in range(iters):
        h = torch.clamp(torch.sigmoid(v) * (zeta - gamma) + gamma, 0, 1)
        wq = torch.clamp(floor + h, -qmax, qmax) * s[:, None]
        rec = 0
        for g in range(groups):
            rows = slice(g * per, (g + 1) * per)
            err = xq[g] @ wq[rows].T - xf[g] @ w[rows].T
            rec = rec + err.pow(2).sum(1).mean()
        loss = rec
        if t_ >= warm:
            rel = (t_ - warm) / (iters - warm)
            beta = p["beta_end"] + (p["beta_start"] - p["beta_end"]) * max(0.0, 1.0 - rel)
            loss = loss + p["lambda"] * (1 - (2 * h - 1).abs().pow(beta)).sum()
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        h = torch.clamp(torch.sigmoid(v) * (zeta - gamma) + gamma, 0, 1)
        codes = torch.clamp(floor + (v >= 0).double(), -qmax, qmax)
    return {"loss": torch.tensor(losses), "soft": h, "codes": codes}


def run_case(params, inputs):
    return adaround(params, inputs)


if __name__ == "__main__":
    answer_cases(run_case, sys.argv)
