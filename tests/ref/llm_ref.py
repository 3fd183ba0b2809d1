#!/usr/bin/python3
"""PyTorch reference for tern's LLM runtime tests (tests/llm/llm_test_util.h).

Written from the published architecture definitions (Llama / Qwen2 as in the
HF modeling files: RMSNorm, half-split rotary, GQA, SwiGLU; GPT-2: LayerNorm,
learned positions, Conv1D layout, tanh-GELU), in plain fp32 torch. It reads
each case's HF checkpoint (config.json + model.safetensors or a sharded index)
itself, so it shares no code with tern's loaders.

argv: manifest.json out.bin. Manifest: {"cases": [{"name", "dir", "tokens",
"ppl_tokens", "ppl_ctx"}]}. Writes '<case>/logits' (T, V), '<case>/ppl' and
'<case>/mean_nll' (1) in the bundle format of tests/nn/torch_ref.h.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

from tensor_bundle import write_bundle

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=DTYPES[info["dtype"]]) if e > b else torch.zeros(0)
        out[name] = t.reshape(info["shape"]).to(torch.float32)
    return out


def read_checkpoint(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        w = {}
        for fn in files:
            w.update(read_safetensors(os.path.join(d, fn)))
        return w
    return read_safetensors(os.path.join(d, "model.safetensors"))


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def causal_softmax_attention(q, k, v):
    # q: (H, T, D), k/v: (H, T, D) -> (T, H*D)
    H, T, D = q.shape
    s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    return (s.softmax(-1) @ v).transpose(0, 1).reshape(T, H * D)


def rope_inv_freq(cfg, dim):
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        lo_wl, hi_wl = old / lo, old / hi
        scaled = torch.where(wavelen > lo_wl, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        blended = (1 - smooth) * inv / factor + smooth * inv
        mid = (wavelen <= lo_wl) & (wavelen >= hi_wl)
        inv = torch.where(mid, blended, scaled)
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def llama_logits(cfg, w, tokens):
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim", d // nh)
    eps = cfg["rms_norm_eps"]
    T = len(tokens)
    qwen = cfg["architectures"][0] == "Qwen2ForCausalLM"
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    pos = torch.arange(T, dtype=torch.float64)
    rs = cfg.get("rope_scaling") or {}
    if rs.get("rope_type", rs.get("type")) == "linear":
        pos = pos / rs["factor"]
    ang = pos[:, None] * rope_inv_freq(cfg, hd)[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1).float()  # (T, hd)
    sin = torch.cat([ang.sin(), ang.sin()], -1).float()

    def lin(h, name, bias):
        y = h @ w[name + ".weight"].T
        return y + w[name + ".bias"] if bias else y

    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        qkv_bias = qwen or cfg.get("attention_bias", False)
        q = lin(h, p + "self_attn.q_proj", qkv_bias).reshape(T, nh, hd).transpose(0, 1)
        k = lin(h, p + "self_attn.k_proj", qkv_bias).reshape(T, nkv, hd).transpose(0, 1)
        v = lin(h, p + "self_attn.v_proj", qkv_bias).reshape(T, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        a = causal_softmax_attention(q, k, v)
        x = x + lin(a, p + "self_attn.o_proj", (not qwen) and cfg.get("attention_bias", False))
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = F.silu(lin(h, p + "mlp.gate_proj", False)) * lin(h, p + "mlp.up_proj", False)
        x = x + lin(g, p + "mlp.down_proj", False)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ head.T


def gpt2_logits(cfg, w, tokens):
    w = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in w.items()}
    d, nh = cfg["n_embd"], cfg["n_head"]
    hd, eps = d // nh, cfg.get("layer_norm_epsilon", 1e-5)
    T = len(tokens)
    x = w["wte.weight"][torch.tensor(tokens)] + w["wpe.weight"][:T]
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        h = F.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: (in, out)
        q, k, v = (t.reshape(T, nh, hd).transpose(0, 1) for t in qkv.split(d, dim=-1))
        a = causal_softmax_attention(q, k, v)
        x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = F.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], eps)
    head = w.get("lm_head.weight", w["wte.weight"])
    return x @ head.T


def model_logits(cfg, w, tokens):
    if cfg["architectures"][0] == "GPT2LMHeadModel":
        return gpt2_logits(cfg, w, tokens)
    return llama_logits(cfg, w, tokens)


def perplexity(cfg, w, tokens, ctx):
    """llama.cpp perplexity: non-overlapping windows, second half scored."""
    nll, count = 0.0, 0
    first = ctx // 2
    for c in range(len(tokens) // ctx):
        win = tokens[c * ctx:(c + 1) * ctx]
        logp = model_logits(cfg, w, win).double().log_softmax(-1)
        for i in range(first, ctx - 1):
            nll -= logp[i, win[i + 1]].item()
            count += 1
    return math.exp(nll / count), nll / count




def main():
    torch.set_num_threads(1)
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    out = {}
    with torch.no_grad():
        for case in manifest["cases"]:
            with open(os.path.join(case["dir"], "config.json")) as f:
                cfg = json.load(f)
            w = read_checkpoint(case["dir"])
            out[case["name"] + "/logits"] = model_logits(cfg, w, case["tokens"])
            if case.get("ppl_tokens"):
                ppl, mean_nll = perplexity(cfg, w, case["ppl_tokens"], case["ppl_ctx"])
                out[case["name"] + "/ppl"] = torch.tensor([ppl])
                out[case["name"] + "/mean_nll"] = torch.tensor([mean_nll])
    write_bundle(sys.argv[2], out)


if __name__ == "__main__":
    main()
