"""Layer-wise Optimal Brain Surgeon as Optimal Brain Compression gives it
(ExactOBS, Frantar, Singh & Alistarh, 2208.11580, Algorithm 1 with the global
mask selection of its section 4), transcribed in plain PyTorch float64: the
second opinion for tern's src/prune/obs.cpp.

usage: obs_ref.py W.npy X.npy OUT_W.npy OUT_MASK.npy SPARSITY DAMP
W (rows, cols) is the weight, X (samples, cols) the calibration inputs, H = X^T X
dampened by DAMP x mean(diag H). OUT_W is the pruned weight (f4), OUT_MASK the
zeroed positions (u1).

Each row: greedily remove the weight with the least w_q^2 / [H^-1]_qq, update
the rest by -w_q / [H^-1]_qq H^-1[:, q], downdate H^-1, to the end. The layer
takes the round(S x rows x cols) cheapest steps, each row's step losses made
non-decreasing (a running maximum) so every row prunes a prefix of its order;
ties go to the lower (row, step). Unlike tern, the kept weights here come from
re-running each row's OBS updates for its chosen number of steps (tern refits
them by least squares, which is the same point)."""
import math
import sys

import numpy as np
import torch


def dampened(H, damp):
    H = H.clone()
    dead = torch.diag(H) == 0
    idx = torch.arange(H.shape[0])
    H[idx[dead], idx[dead]] = 1
    H[idx, idx] += damp * torch.mean(torch.diag(H))
    return H, dead


def run_row(w, Hinv, dead, steps):
    """The row after `steps` greedy OBS steps, the removed columns and the step losses."""
    w = w.clone()
    Hi = Hinv.clone()
    alive = torch.ones_like(w, dtype=torch.bool)
    order, losses = [], []
    for _ in range(steps):
        score = w ** 2 / torch.diag(Hi)
        score[dead] = 0
        score[~alive] = math.inf
        q = int(torch.argmin(score))
        order.append(q)
        losses.append(float(score[q]))
        w = w - w[q] / Hi[q, q] * Hi[:, q]
        w[q] = 0
        Hi = Hi - torch.outer(Hi[:, q], Hi[q, :]) / Hi[q, q]
        alive[q] = False
    return w, order, losses


def obs(W, X, sparsity, damp):
    W = torch.from_numpy(W).double()
    X = torch.from_numpy(X).double()
    rows, cols = W.shape
    H, dead = dampened(X.T @ X, damp)
    Hinv = torch.linalg.inv(H)
    losses = torch.zeros(rows, cols, dtype=torch.float64)
    for r in range(rows):
        _, _, l = run_row(W[r], Hinv, dead, cols)
        losses[r] = torch.cummax(torch.tensor(l, dtype=torch.float64), dim=0).values
    k = int(math.floor(sparsity * rows * cols + 0.5))
    chosen = np.argsort(losses.reshape(-1).numpy(), kind="stable")[:k]
    counts = np.bincount(chosen // cols, minlength=rows)
    out = torch.zeros_like(W)
    mask = np.zeros((rows, cols), dtype=np.uint8)
    for r in range(rows):
        w, order, _ = run_row(W[r], Hinv, dead, int(counts[r]))
        out[r] = w
        mask[r, order] = 1
    return out.float().numpy(), mask


def main():
    w_path, x_path, out_w, out_mask = sys.argv[1:5]
    sparsity, damp = float(sys.argv[5]), float(sys.argv[6])
    W, mask = obs(np.load(w_path), np.load(x_path), sparsity, damp)
    np.save(out_w, W)
    np.save(out_mask, mask)


if __name__ == "__main__":
    main()
