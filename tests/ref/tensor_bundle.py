"""The tensor bundle the C++ tests and the PyTorch reference scripts exchange:
an 8-byte little-endian header length, a JSON header listing each tensor's
name, shape and element offset, then all tensors as contiguous float32."""
import json
import math
import struct

import torch


def read_bundle(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    flat = torch.frombuffer(data, dtype=torch.float32) if data else torch.zeros(0)
    tensors = {}
    for t in header["tensors"]:
        numel = math.prod(t["shape"]) if t["shape"] else 1
        tensors[t["name"]] = flat[t["offset"]:t["offset"] + numel].clone().reshape(t["shape"])
    return header, tensors


def write_bundle(path, tensors):
    header = {"tensors": []}
    blobs, off = [], 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous()
        header["tensors"].append({"name": name, "shape": list(t.shape), "offset": off})
        blobs.append(t.reshape(-1))
        off += t.numel()
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        if blobs:
            f.write(torch.cat(blobs).numpy().tobytes())


def answer_cases(run_case, argv):
    """The common main of a reference script: argv[1] is the bundle the C++ test
    wrote (header["cases"], inputs named "<case>/<input>"); run_case(params,
    inputs) returns {name: tensor} for one case; argv[2] receives them all as
    "<case>/<name>"."""
    header, tensors = read_bundle(argv[1])
    out = {}
    for case in header["cases"]:
        name, params = case["name"], case["params"] or {}
        inputs = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + "/")}
        for k, v in run_case(params, inputs).items():
            out[name + "/" + k] = v
    write_bundle(argv[2], out)
