#!/usr/bin/python3
"""PyTorch reference for tern's fake-quant ops (tests/quant/test_qat_ops.cpp).

Plain transcriptions: STE through torch's own fake_quantize_per_{tensor,channel}_affine;
LSQ as the code listing of Esser et al. 2020 (grad_scale and round_pass by
detach); PACT as Choi et al. 2018 (clip at a learned alpha by min/max, the
rounding passed straight through). Reads the cases' inputs from a bundle and
writes y and the gradients of sum(y * r) back as '<case>/<name>'."""
import sys

import torch

from tensor_bundle import answer_cases


def grad_scale(s, g):
    return (s - s * g).detach() + s * g


def round_pass(v):
    return (v.round() - v).detach() + v


def per_channel_view(s, x):
    return s.reshape([-1] + [1] * (x.dim() - 1)) if s.numel() > 1 else s


def lsq(x, s, qmin, qmax, g):
    s = per_channel_view(grad_scale(s, g), x)
    v = torch.clamp(x / s, qmin, qmax)
    return round_pass(v) * s


def pact(x, alpha, bits, signed):
    n = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
    y = torch.minimum(x, alpha)
    y = torch.maximum(y, -alpha) if signed else torch.relu(y)
    step = alpha / n
    return (torch.round(y / step) * step - y).detach() + y


def run_case(p, t):
    x = t["x"].clone().requires_grad_(True)
    kind = p["kind"]
    leaves = {"x": x}
    if kind == "ste":
        s, zp = t["scale"], t["zero_point"].round().to(torch.int32)
        if s.numel() > 1:
            y = torch.fake_quantize_per_channel_affine(x, s, zp, 0, p["qmin"], p["qmax"])
        else:
            y = torch.fake_quantize_per_tensor_affine(x, float(s[0]), int(zp[0]), p["qmin"], p["qmax"])
    elif kind == "lsq":
        s = t["scale"].clone().requires_grad_(True)
        leaves["scale"] = s
        y = lsq(x, s, p["qmin"], p["qmax"], p["grad_scale"])
    else:
        a = t["alpha"].clone().requires_grad_(True)
        leaves["alpha"] = a
        y = pact(x, a, p["bits"], p["signed"])
    (y * t["r"]).sum().backward()
    out = {"y": y}
    for name, leaf in leaves.items():
        out["g" + name] = leaf.grad
    return out


def main():
    answer_cases(run_case, sys.argv)


if __name__ == "__main__":
    main()
