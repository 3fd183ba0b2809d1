"""AWQ as the paper's reference code does it (Lin et al., 2306.00978;
llm-awq's auto_scale `_search_module_scale` and auto_clip `auto_clip_layer`),
transcribed in plain PyTorch float64 from the calibration inputs X themselves
(not their Hessian), the second opinion for tern's src/quant/awq.cpp.

usage: awq_ref.py IN.bundle OUT.bundle
IN: per case "<name>/X" (samples, cols) and "<name>/W0", "<name>/W1", ...
(Linears sharing X); the header's "cases" give name, n_linears, bits, group.
OUT: "<name>/alpha" (1), "<name>/scales" (cols), "<name>/Q<i>" (the final
weights: scaled, clipped, quantized on tern's grid and divided by the scales)
and "<name>/ratio<i>" (rows, groups) the clipping ratios chosen.

Each Linear's own output stands for the block output of the paper's scale
search (see src/quant/awq.h); the grid is gptq_ref.py's (tern's int asym)."""
import sys

import torch

from gptq_ref import rtn
from tensor_bundle import read_bundle, write_bundle

N_GRID = 20
MAX_SHRINK = 0.5


def search_scale(X, Ws, bits, group):
    x_max = X.abs().mean(dim=0)
    best = (float("inf"), None, None)
    for ratio in range(N_GRID):
        alpha = ratio / N_GRID
        scales = x_max.pow(alpha).clamp(min=1e-4)
        scales = scales / (scales.max() * scales.min()).sqrt()
        scales = scales.to(torch.float32).to(torch.float64)  # tern keeps s in f32
        loss = 0.0
        for W in Ws:
            Q = rtn((W * scales).to(torch.float32).to(torch.float64), bits, group) / scales
            loss += ((X @ W.t() - X @ Q.t()) ** 2).sum().item()
        if loss < best[0]:
            best = (loss, alpha, scales)
    return best[1], best[2]


def search_clip(W, X, bits, group):
    rows, cols = W.shape
    n_groups = cols // group
    w = W.reshape(rows, 1, n_groups, group)
    x = X.reshape(1, X.shape[0], n_groups, group)
    org_max = w.abs().amax(dim=-1, keepdim=True)
    best_max = org_max.clone()
    best_ratio = torch.ones_like(org_max)
    min_errs = torch.full_like(org_max, float("inf"))
    org_out = (x * w).sum(dim=-1)
    for i_s in range(int(MAX_SHRINK * N_GRID)):
        ratio = 1 - i_s / N_GRID
        max_val = (org_max * ratio).to(torch.float32).to(torch.float64)
        cur_w = torch.clamp(w, -max_val, max_val)
        q_w = rtn(cur_w.reshape(rows * n_groups, group).to(torch.float32).to(torch.float64), bits, group)
        q_w = q_w.reshape(rows, 1, n_groups, group)
        cur_out = (x * q_w).sum(dim=-1)
        err = (cur_out - org_out).pow(2).sum(dim=1).view(min_errs.shape)
        better = err < min_errs
        min_errs[better] = err[better]
        best_max[better] = max_val[better]
        best_ratio[better] = ratio
    clipped = torch.clamp(w, -best_max, best_max).reshape(rows, cols)
    return clipped, best_ratio.reshape(rows, n_groups)


def main():
    header, tensors = read_bundle(sys.argv[1])
    out = {}
    for case in header["cases"]:
        name, bits, group = case["name"], case["bits"], case["group"]
        X = tensors[name + "/X"].to(torch.float64)
        Ws = [tensors[f"{name}/W{i}"].to(torch.float64) for i in range(case["n_linears"])]
        alpha, scales = search_scale(X, Ws, bits, group)
        out[name + "/alpha"] = torch.tensor([alpha])
        out[name + "/scales"] = scales
        Xs = X / scales
        for i, W in enumerate(Ws):
            Wsc = (W * scales).to(torch.float32).to(torch.float64)
            clipped, ratios = search_clip(Wsc, Xs, bits, group)
            out[f"{name}/Q{i}"] = rtn(clipped, bits, group) / scales
            out[f"{name}/ratio{i}"] = ratios
    write_bundle(sys.argv[2], out)


if __name__ == "__main__":
    main()
