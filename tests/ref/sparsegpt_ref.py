"""SparseGPT as the paper gives it (Frantar & Alistarh, 2301.00774, Algorithm 1
and the authors' reference `fasterprune`), transcribed in plain NumPy float64,
the second opinion for tern's src/prune/sparsegpt.cpp.

usage: sparsegpt_ref.py W.npy X.npy OUT_W.npy OUT_MASK.npy SPARSITY N M BLOCK DAMP
W (rows, cols) is the weight, X (samples, cols) the calibration inputs, H = X^T X.
N M = 0 0 prunes unstructured at SPARSITY, else keeps N of every M columns of a row.
OUT_W is the pruned, reconstructed weight (f4), OUT_MASK the zeroed positions (u1).

One documented difference from the authors' code: an unstructured block prunes
exactly floor(S x rows x block) weights, the lowest saliencies (stable order:
ties go to the earlier row-major position), where their `tmp <= sorted[k]`
prunes one more and every tie; N:M ties likewise go to the earlier column.
Saliencies are compared in float32, as tern compares them."""
import sys

import numpy as np


def lowest(scores, k):
    """Positions of the k lowest of a flat float32 array (stable on ties)."""
    return np.argsort(scores, kind="stable")[:k]


def sparsegpt(W, H, sparsity, keep_n, m, blocksize, percdamp):
    W = W.astype(np.float64).copy()
    H = H.astype(np.float64).copy()
    rows, cols = W.shape
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H[np.arange(cols), np.arange(cols)] += percdamp * np.mean(np.diag(H))
    L = np.linalg.cholesky(H)
    Linv = np.linalg.inv(L)
    Hinv = Linv.T @ Linv
    U = np.linalg.cholesky(Hinv).T  # upper, H^-1 = U^T U
    mask = np.zeros((rows, cols), dtype=bool)
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].copy()
        Q1 = np.zeros_like(W1)
        Err1 = np.zeros_like(W1)
        U1 = U[i1:i2, i1:i2]
        d1 = np.diag(U1)
        mask1 = np.zeros((rows, count), dtype=bool)
        if m == 0:
            tmp = (W1 ** 2 / d1.reshape(1, -1) ** 2).astype(np.float32)
            k = int(np.floor(sparsity * tmp.size))
            flat = mask1.reshape(-1)
            flat[lowest(tmp.reshape(-1), k)] = True
            mask1 = flat.reshape(rows, count)
        for i in range(count):
            if m and i % m == 0:
                tmp = (W1[:, i:i + m] ** 2 / d1[i:i + m].reshape(1, -1) ** 2).astype(np.float32)
                for r in range(rows):
                    mask1[r, i + lowest(tmp[r], m - keep_n)] = True
            w = W1[:, i]
            d = U1[i, i]
            q = w.copy()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= np.outer(err1, U1[i, i:])
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        mask[:, i1:i2] = mask1
        W[:, i2:] -= Err1 @ U[i1:i2, i2:]
    return W, mask


def main():
    w_path, x_path, out_w, out_mask = sys.argv[1:5]
    sparsity = float(sys.argv[5])
    keep_n, m, block = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
    damp = float(sys.argv[9])
    W = np.load(w_path)
    X = np.load(x_path).astype(np.float64)
    Wp, mask = sparsegpt(W, X.T @ X, sparsity, keep_n, m, block, damp)
    np.save(out_w, Wp.astype(np.float32))
    np.save(out_mask, mask.astype(np.uint8))


if __name__ == "__main__":
    main()
