#!/usr/bin/python3
"""PyTorch reference for tern's binary / ternary ops (tests/nn/test_binary_ops.cpp).

Plain transcriptions with autograd doing the chain rule: BWN as sign_ste(w) *
mean|w| per output channel (Rastegari et al. 2016, the STE clipped to |w| <= 1);
XNOR-Net inputs the same per sample on x - mean(x); TWN (Li et al. 2016) codes
and alpha under no_grad with the weight passed straight through; TTQ (Zhu et
al. 2017) with wp / wn getting the sums of their codes' gradients and w the
gradient scaled by wp / 1 / wn. Writes y and the gradients of sum(y * r)."""
import sys

import torch

from tensor_bundle import answer_cases


class SignSte(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return torch.where(v >= 0, torch.ones_like(v), -torch.ones_like(v))

    @staticmethod
    def backward(ctx, g):
        (v,) = ctx.saved_tensors
        return g * (v.abs() <= 1).to(g.dtype)


def rows_mean(v):
    return v.reshape(v.shape[0], -1).mean(dim=1).reshape([-1] + [1] * (v.dim() - 1))


def bwn(w):
    return SignSte.apply(w) * rows_mean(w.abs())


def xnor_input(x):
    c = x - rows_mean(x)
    return SignSte.apply(c) * rows_mean(c.abs())


def twn(w, t):
    with torch.no_grad():
        a = w.abs()
        delta = t * rows_mean(a)
        keep = (a > delta).to(w.dtype)
        alpha = rows_mean(a * keep) / rows_mean(keep).clamp_min(1e-30)
        q = alpha * torch.sign(w) * keep
    return w + (q - w).detach()


def ttq(w, wp, wn, t):
    with torch.no_grad():
        delta = t * w.abs().max()
        pos = (w > delta).to(w.dtype)
        neg = (w < -delta).to(w.dtype)
        zero = 1 - pos - neg
        scale = wp * pos + wn * neg + zero
    y = wp * pos - wn * neg
    ws = w * scale
    return y + ws - ws.detach()


def run_case(p, t):
    kind = p["kind"]
    x = t["x"].clone().requires_grad_(True)
    leaves = {"x": x}
    if kind == "bwn":
        y = bwn(x)
    elif kind == "xnor":
        y = xnor_input(x)
    elif kind == "twn":
        y = twn(x, p["threshold"])
    else:
        wp = t["wp"].clone().requires_grad_(True)
        wn = t["wn"].clone().requires_grad_(True)
        leaves["wp"], leaves["wn"] = wp, wn
        y = ttq(x, wp, wn, p["threshold"])
    (y * t["r"]).sum().backward()
    out = {"y": y}
    for name, leaf in leaves.items():
        out["g" + name] = leaf.grad
    return out


def main():
    answer_cases(run_case, sys.argv)


if __name__ == "__main__":
    main()
