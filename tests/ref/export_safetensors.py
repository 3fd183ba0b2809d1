#!/usr/bin/python3
"""Writes safetensors files from PyTorch tensors, following the published format
by hand (8-byte little-endian header length, JSON header, raw bytes), plus
expected.json with every tensor's dtype, shape and values as torch sees them.

usage: /usr/bin/python3 export_safetensors.py OUTDIR
  OUTDIR/model.safetensors          one file, many dtypes
  OUTDIR/sharded/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
  OUTDIR/expected.json              {name: {dtype, shape, values}} for all of the above
"""
import json
import os
import struct
import sys

import torch

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16; the bits are the same as int16's
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()  # x86-64 is little-endian, as the format requires


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():  # insertion order: deliberately not sorted
        b = raw_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def expected(t):
    values = t.double().flatten().tolist() if t.dtype != torch.bool else [float(v) for v in t.flatten().tolist()]
    return {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "values": values}


def main():
    out = sys.argv[1]
    torch.manual_seed(1234)
    tensors = {
        "model.embed.weight": torch.randn(6, 4),
        "layers.0.attn.q.weight": torch.randn(3, 5).to(torch.float16),
        "layers.0.mlp.up.weight": torch.randn(4, 3).to(torch.bfloat16),
        "layers.0.norm.weight": torch.rand(5, dtype=torch.float64),
        "position_ids": torch.arange(-3, 4, dtype=torch.int64),
        "buckets": torch.randint(-1000, 1000, (2, 3), dtype=torch.int32),
        "i16": torch.tensor([-32768, 0, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 200, 255], dtype=torch.uint8),
        "mask": torch.tensor([[True, False, True], [False, False, True]]),
        "scale": torch.tensor(0.125),  # rank 0
        "empty": torch.zeros(0, 3),
    }
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), tensors, {"format": "pt", "producer": "torch " + torch.__version__})

    shard_dir = os.path.join(out, "sharded")
    os.makedirs(shard_dir, exist_ok=True)
    shards = {
        "model-00001-of-00002.safetensors": {"a.weight": torch.randn(2, 2), "b.weight": torch.randn(3).to(torch.float16)},
        "model-00002-of-00002.safetensors": {"c.weight": torch.randn(2, 3).to(torch.bfloat16)},
    }
    weight_map = {}
    total = 0
    for fname, ts in shards.items():
        write_safetensors(os.path.join(shard_dir, fname), ts, {"format": "pt"})
        for name, t in ts.items():
            weight_map[name] = fname
            total += len(raw_bytes(t))
    with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    all_expected = {name: expected(t) for name, t in tensors.items()}
    for ts in shards.values():
        all_expected.update({"sharded/" + name: expected(t) for name, t in ts.items()})
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(all_expected, f)


if __name__ == "__main__":
    main()
