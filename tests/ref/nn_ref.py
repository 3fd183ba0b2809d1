#!/usr/bin/python3
"""PyTorch reference for tern's nn tests (tests/nn/torch_ref.h).

Reads every case the C++ tests built (inputs in a bundle file), runs torch
forward + backward, writes outputs and gradients back as '<case>/<name>'.
Run with Debian's /usr/bin/python3 (python3-torch). Float64 is NOT used: the
comparison is fp32 against fp32, as the C++ side computes.
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

from tensor_bundle import read_bundle, write_bundle






def leaf(t):
    return t.clone().requires_grad_(True)


def project_backward(out, r, leaves, prefix=""):
    """loss = sum(out * r); returns {'y': out, 'g<name>': grad}."""
    (out * r).sum().backward()
    res = {"y": out}
    for name, t in leaves.items():
        res["g" + name] = t.grad
    return res


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, layout, theta, offset):
    # x: (B, T, H, D)
    B, T, H, D = x.shape
    half = D // 2
    inv = torch.tensor([theta ** (-2.0 * i / D) for i in range(half)], dtype=torch.float64)
    pos = torch.arange(offset, offset + T, dtype=torch.float64)
    ang = pos[:, None] * inv[None, :]  # (T, half)
    c = torch.cos(ang).float()[None, :, None, :]
    s = torch.sin(ang).float()[None, :, None, :]
    if layout == "adjacent_pairs":
        a, b = x[..., 0::2], x[..., 1::2]
        ra, rb = a * c - b * s, a * s + b * c
        return torch.stack([ra, rb], dim=-1).reshape(B, T, H, D)
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * c - b * s, a * s + b * c], dim=-1)


def causal_attention(q, k, v, scale=None):
    # q: (B, T, Hq, D), k/v: (B, T, Hkv, D) -> (B, T, Hq, D)
    B, T, Hq, D = q.shape
    rep = Hq // k.shape[2]
    k = k.repeat_interleave(rep, dim=2)
    v = v.repeat_interleave(rep, dim=2)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    s = (q @ k.transpose(-1, -2)) * (scale if scale else 1.0 / math.sqrt(D))
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    return (s.softmax(-1) @ v).transpose(1, 2)


def conv_case(p, t):
    x, w, b = leaf(t["x"]), leaf(t["w"]), leaf(t["b"])
    y = F.conv2d(x, w, b, stride=p["stride"], padding=p["padding"], dilation=p["dilation"], groups=p["groups"])
    return project_backward(y, t["r"], {"x": x, "w": w, "b": b})


def op_case(kind, p, t):
    if kind == "linear":
        x, w, b = leaf(t["x"]), leaf(t["w"]), leaf(t["b"])
        return project_backward(F.linear(x, w, b), t["r"], {"x": x, "w": w, "b": b})
    if kind == "conv":
        return conv_case(p, t)
    if kind in ("maxpool", "avgpool", "gap"):
        x = leaf(t["x"])
        if kind == "maxpool":
            y = F.max_pool2d(x, p["k"], p["s"], p["p"])
        elif kind == "avgpool":
            y = F.avg_pool2d(x, p["k"], p["s"], p["p"])
        else:
            y = x.mean(dim=(2, 3))
        return project_backward(y, t["r"], {"x": x})
    if kind == "batchnorm":
        x, g, b = leaf(t["x"]), leaf(t["g"]), leaf(t["b"])
        rm, rv = t["rm"].clone(), t["rv"].clone()
        y = F.batch_norm(x, rm, rv, g, b, training=True, momentum=p["momentum"], eps=p["eps"])
        res = project_backward(y, t["r"], {"x": x, "g": g, "b": b})
        res["rm"], res["rv"] = rm, rv
        return res
    if kind == "layernorm":
        x, w, b = leaf(t["x"]), leaf(t["w"]), leaf(t["b"])
        y = F.layer_norm(x, (x.shape[-1],), w, b, p["eps"])
        return project_backward(y, t["r"], {"x": x, "w": w, "b": b})
    if kind == "rmsnorm":
        x, w = leaf(t["x"]), leaf(t["w"])
        return project_backward(rms_norm(x, w, p["eps"]), t["r"], {"x": x, "w": w})
    if kind == "embedding":
        w = leaf(t["w"])
        ids = t["ids"].long()
        return project_backward(F.embedding(ids, w), t["r"], {"w": w})
    if kind == "attention":
        q, k, v = leaf(t["q"]), leaf(t["k"]), leaf(t["v"])
        return project_backward(causal_attention(q, k, v), t["r"], {"q": q, "k": k, "v": v})
    if kind == "rope":
        x = leaf(t["x"])
        return project_backward(rope(x, p["layout"], p["theta"], p["offset"]), t["r"], {"x": x})
    if kind == "cross_entropy":
        x = leaf(t["x"])
        y = F.cross_entropy(x, t["target"].long(), ignore_index=p["ignore_index"])
        y.backward()
        return {"y": y.reshape(1), "gx": x.grad}
    if kind == "kd":
        s = leaf(t["s"])
        T = p["T"]
        y = F.kl_div(F.log_softmax(s / T, -1), F.softmax(t["t"] / T, -1), reduction="batchmean") * T * T
        y.backward()
        return {"y": y.reshape(1), "gs": s.grad}
    raise ValueError("unknown op case " + kind)


def cnn_step(p, t):
    prm = {k[len("param."):]: leaf(v) for k, v in t.items() if k.startswith("param.")}
    x = t["x"]
    h = F.conv2d(x, prm["0.weight"], prm["0.bias"], padding=1)
    rm, rv = t["buf.1.running_mean"].clone(), t["buf.1.running_var"].clone()
    h = F.batch_norm(h, rm, rv, prm["1.weight"], prm["1.bias"], training=True, momentum=0.1, eps=1e-5)
    h = F.max_pool2d(F.relu(h), 2)
    logits = F.linear(h.flatten(1), prm["5.weight"], prm["5.bias"])
    loss = F.cross_entropy(logits, t["target"].long())
    loss.backward()
    res = {"loss": loss.reshape(1), "running_mean": rm, "running_var": rv}
    for k, v in prm.items():
        res["grad." + k] = v.grad
    return res


def transformer_step(p, t):
    prm = {k[len("param."):]: leaf(v) for k, v in t.items() if k.startswith("param.")}
    B, T = p["B"], p["T"]
    H, Hkv, d = p["n_heads"], p["n_kv_heads"], p["d_model"]
    hd = d // H
    ids = t["ids"].long().reshape(B, T)
    x = F.embedding(ids, prm["emb.weight"])
    h = rms_norm(x, prm["norm1.weight"], 1e-6)
    q = F.linear(h, prm["attn.wq.weight"]).reshape(B, T, H, hd)
    k = F.linear(h, prm["attn.wk.weight"]).reshape(B, T, Hkv, hd)
    v = F.linear(h, prm["attn.wv.weight"]).reshape(B, T, Hkv, hd)
    q, k = rope(q, p["layout"], 10000.0, 0), rope(k, p["layout"], 10000.0, 0)
    a = causal_attention(q, k, v).reshape(B, T, d)
    x = x + F.linear(a, prm["attn.wo.weight"])
    h = rms_norm(x, prm["norm2.weight"], 1e-6)
    m = F.linear(F.silu(F.linear(h, prm["mlp.gate.weight"])) * F.linear(h, prm["mlp.up.weight"]), prm["mlp.down.weight"])
    x = x + m
    logits = F.linear(rms_norm(x, prm["norm_f.weight"], 1e-6), prm["head.weight"])
    loss = F.cross_entropy(logits.reshape(B * T, -1), t["target"].long())
    loss.backward()
    res = {"loss": loss.reshape(1)}
    for k_, v_ in prm.items():
        res["grad." + k_] = v_.grad
    return res


def optim_case(p, t):
    w, b = leaf(t["w"]), leaf(t["b"])
    if p["kind"] == "adamw":
        opt = torch.optim.AdamW([w, b], lr=p["lr"], betas=(p["beta1"], p["beta2"]), eps=p["eps"],
                                weight_decay=p["wd"])
    else:
        opt = torch.optim.SGD([w, b], lr=p["lr"], momentum=p["momentum"], weight_decay=p["wd"],
                              nesterov=p["nesterov"])
    for _ in range(p["steps"]):
        opt.zero_grad()
        F.mse_loss(F.linear(t["x"], w, b), t["y"]).backward()
        opt.step()
    return {"w": w, "b": b}


def main():
    header, tensors = read_bundle(sys.argv[1])
    out = {}
    for case in header["cases"]:
        name, p = case["name"], case["params"] or {}
        t = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + "/")}
        kind = p.get("kind", "")
        if name == "cnn_step":
            res = cnn_step(p, t)
        elif name == "transformer_step":
            res = transformer_step(p, t)
        elif name.startswith("optim_"):
            res = optim_case(p, t)
        else:
            res = op_case(kind, p, t)
        for k, v in res.items():
            out[name + "/" + k] = v
    write_bundle(sys.argv[2], out)


if __name__ == "__main__":
    main()
