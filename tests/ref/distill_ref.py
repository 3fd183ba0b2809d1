#!/usr/bin/python3
"""PyTorch reference for tern's distillation losses (tests/distill/test_distill_losses.cpp).

Reads the cases the C++ test built (a tensor bundle, tests/ref/tensor_bundle.py),
computes each loss and its gradient with torch, writes '<case>/y' and
'<case>/g<input>' back. Transcribes the papers' formulas independently of tern.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import sys

import torch
import torch.nn.functional as F

from tensor_bundle import answer_cases


def leaf(t):
    return t.clone().requires_grad_(True)


def kd(p, t):
    # Hinton et al.: alpha * T^2 KL(p_t^T || p_s^T) + (1 - alpha) CE
    s, T, a = leaf(t["s"]), p["T"], p["alpha"]
    soft = F.kl_div(F.log_softmax(s / T, -1), F.softmax(t["t"] / T, -1), reduction="batchmean") * T * T
    y = a * soft + (1 - a) * F.cross_entropy(s, t["labels"].long())
    y.backward()
    return {"y": y.reshape(1), "gs": s.grad}


def fitnets(p, t):
    # Romero et al.: || r(student) - teacher ||^2 with a 1x1 conv regressor r
    s, w = leaf(t["s"]), leaf(t["w"])
    y = F.mse_loss(F.conv2d(s, w), t["t"])
    y.backward()
    return {"y": y.reshape(1), "gs": s.grad, "gw": w.grad}


def at(x):
    # Zagoruyko & Komodakis: normalised sum over channels of |A_c|^2
    return F.normalize(x.pow(2).sum(1).view(x.size(0), -1))


def attention(p, t):
    s = leaf(t["s"])
    y = (at(s) - at(t["t"])).pow(2).mean()
    y.backward()
    return {"y": y.reshape(1), "gs": s.grad}


def rows(x):
    return x.reshape(-1, x.shape[-1])


def forward_kl(p, t):
    s, T = leaf(t["s"]), p["T"]
    y = F.kl_div(F.log_softmax(rows(s) / T, -1), F.softmax(rows(t["t"]) / T, -1), reduction="batchmean")
    y.backward()
    return {"y": y.reshape(1), "gs": s.grad}


def reverse_kl(p, t):
    # MiniLLM's objective, exact: KL(p_s || p_t) = sum p_s (log p_s - log p_t)
    s, T = leaf(t["s"]), p["T"]
    ls, lt = F.log_softmax(rows(s) / T, -1), F.log_softmax(rows(t["t"]) / T, -1)
    y = (ls.exp() * (ls - lt)).sum(-1).mean()
    y.backward()
    return {"y": y.reshape(1), "gs": s.grad}


def topk_forward_kl(p, t):
    # teacher = softmax over its top-k logits only, zero elsewhere
    s, T = leaf(t["s"]), p["T"]
    idx, val = t["indices"].long(), t["values"]
    ls = F.log_softmax(rows(s) / T, -1)
    pt = F.softmax(val / T, -1)
    y = (pt * (pt.log() - ls.gather(1, idx))).sum(-1).mean()
    y.backward()
    return {"y": y.reshape(1), "gs": s.grad}


KINDS = {"kd": kd, "fitnets": fitnets, "attention": attention, "forward_kl": forward_kl,
         "reverse_kl": reverse_kl, "topk_forward_kl": topk_forward_kl}


def main():
    answer_cases(lambda p, t: KINDS[p["kind"]](p, t), sys.argv)


if __name__ == "__main__":
    main()
