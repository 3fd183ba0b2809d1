"""GPTQ as the paper gives it (Frantar et al., 2210.17323, Algorithm 1 and the
authors' reference `fasterquant`), transcribed in plain PyTorch float64, the
second opinion for tern's src/quant/gptq.cpp.

usage: gptq_ref.py IN.bundle OUT.bundle
IN holds, per case "<name>/W" (rows, cols) and "<name>/X" (samples, cols);
the header's "cases" list gives name, bits, group, damp, block, act_order.
OUT holds "<name>/Q" (the dequantized weights), "<name>/codes" and, for
comparison, "<name>/rtn" (round to nearest on the same grid).

The grid is tern's int<bits>_asym_g<group>: per row and group, the range
[min(x, 0), max(x, 0)], an fp16 step d = range / (2^bits - 1), an integer
zero point z = round(-min / d) in [0, 2^bits - 1], codes
q = clamp(round(x / d) + z, 0, 2^bits - 1), value d (q - z); rounding is
half to even (torch.round)."""
import json
import struct
import sys

import torch

from tensor_bundle import read_bundle, write_bundle


def fit(x, bits):
    """x: (rows, group) -> (d, z) per row."""
    levels = 2 ** bits - 1
    lo = torch.clamp(x.min(dim=1).values, max=0)
    hi = torch.clamp(x.max(dim=1).values, min=0)
    d = torch.clamp((hi - lo) / levels, max=65504.0).to(torch.float32).to(torch.float16).to(torch.float64)
    inv = torch.where(d > 0, 1.0 / torch.where(d > 0, d, torch.ones_like(d)), torch.zeros_like(d))
    z = torch.clamp(torch.round(-lo * inv), 0, levels)
    return d, inv, z


def quantize(w, d, inv, z, bits):
    levels = 2 ** bits - 1
    q = torch.clamp(torch.round(w * inv), -z, levels - z) + z
    return q, d * (q - z)


def rtn(W, bits, group):
    Q = torch.zeros_like(W)
    for g in range(0, W.shape[1], group):
        d, inv, z = fit(W[:, g:g + group], bits)
        for c in range(g, g + group):
            _, Q[:, c] = quantize(W[:, c], d, inv, z, bits)
    return Q


def gptq(W, H, bits, group, damp, blocksize, act_order):
    W = W.clone()
    H = H.clone()
    rows, cols = W.shape
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0

    static = None
    if act_order:  # static groups: fitted from the original weights
        static = [fit(W[:, g:g + group], bits) for g in range(0, cols, group)]
        perm = torch.argsort(torch.diag(H), descending=True, stable=True)
    else:
        perm = torch.arange(cols)
    W = W[:, perm]
    H = H[perm][:, perm]

    H[range(cols), range(cols)] += damp * torch.mean(torch.diag(H))
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True)

    Q = torch.zeros_like(W)
    codes = torch.zeros_like(W)
    params = None
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        C1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            col = int(perm[i1 + i])
            if act_order:
                params = static[col // group]
            elif (i1 + i) % group == 0:
                params = fit(W[:, (i1 + i):(i1 + i + group)], bits)
            c, q = quantize(w, *params, bits)
            Q1[:, i] = q
            C1[:, i] = c
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        codes[:, i1:i2] = C1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])

    inv = torch.argsort(perm)
    return Q[:, inv], codes[:, inv]


def main():
    header, tensors = read_bundle(sys.argv[1])
    out = {}
    for case in header["cases"]:
        name = case["name"]
        W = tensors[name + "/W"].to(torch.float64)
        X = tensors[name + "/X"].to(torch.float64)
        H = X.t().matmul(X)
        Q, codes = gptq(W, H, case["bits"], case["group"], case["damp"], case["block"], case["act_order"])
        out[name + "/Q"] = Q
        out[name + "/codes"] = codes
        out[name + "/rtn"] = rtn(W, case["bits"], case["group"])
    write_bundle(sys.argv[2], out)


if __name__ == "__main__":
    main()
