#!/usr/bin/env python3
"""Regenerates the small seed corpora in fuzz/corpus/ (each file < 10 KB).
Writes the formats by hand from their published layouts, independently of
tern's writers. usage: python3 fuzz/make_corpus.py"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


# (type tag, struct format) for scalar metadata values
SCALARS = {"u8": (0, "<B"), "i8": (1, "<b"), "u16": (2, "<H"), "i16": (3, "<h"), "u32": (4, "<I"), "i32": (5, "<i"),
           "f32": (6, "<f"), "bool": (7, "<?"), "u64": (10, "<Q"), "i64": (11, "<q"), "f64": (12, "<d")}


def kv_scalar(key, kind, v):
    tag, fmt = SCALARS[kind]
    return gguf_str(key) + struct.pack("<I", tag) + struct.pack(fmt, v)


def kv_string(key, s):
    return gguf_str(key) + struct.pack("<I", 8) + gguf_str(s)


def arr_body(kind, values):
    if kind == "string":
        return struct.pack("<IQ", 8, len(values)) + b"".join(gguf_str(v) for v in values)
    if kind == "array":
        return struct.pack("<IQ", 9, len(values)) + b"".join(values)
    tag, fmt = SCALARS[kind]
    return struct.pack("<IQ", tag, len(values)) + b"".join(struct.pack(fmt, v) for v in values)


def kv_array(key, kind, values):
    return gguf_str(key) + struct.pack("<I", 9) + arr_body(kind, values)


def gguf(kvs, tensors, version=3, alignment=32):
    """tensors: list of (name, ne innermost-first, ggml type, data bytes)."""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    infos, data = b"", b""
    for name, ne, ggml_type, blob in tensors:
        infos += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        infos += struct.pack("<IQ", ggml_type, len(data))
        data += blob + b"\0" * ((-len(blob)) % alignment)
    out = head + infos
    return out + b"\0" * ((-len(out)) % alignment) + data


def safetensors(entries, metadata=None):
    """entries: list of (name, dtype, shape, bytes)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, blob in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-(8 + len(text))) % 8)
    return struct.pack("<Q", len(text)) + text + data


def write(sub, name, blob):
    assert len(blob) < 10 * 1024, name
    with open(os.path.join(HERE, "corpus", sub, name), "wb") as f:
        f.write(blob)


def main():
    f32 = lambda n: b"".join(struct.pack("<f", k * 0.5 - 1) for k in range(n))
    q8_0 = lambda blocks: b"".join(struct.pack("<H", 0x3c00) + bytes(range(32)) for _ in range(blocks))
    every = [kv_string("general.architecture", "llama")] + [
        kv_scalar("v." + k, k, {"f32": 1.5, "f64": -2.25, "bool": True}.get(k, 7)) for k in SCALARS]
    every += [kv_array("a.i32", "i32", [1, -2, 3]), kv_array("a.str", "string", ["a", "bc", ""]),
              kv_array("a.f32", "f32", [0.5, 1.0]),
              kv_array("a.nest", "array", [arr_body("u8", [1, 2]), arr_body("string", ["x"])])]
    write("gguf", "all_types.gguf", gguf(every, [("w", [8, 2], 0, f32(16)), ("q", [32, 2], 8, q8_0(2))]))
    write("gguf", "v2_f16.gguf", gguf([kv_string("general.name", "v2")], [("h", [4], 1, b"\0\x3c" * 4)], version=2))
    write("gguf", "align64.gguf", gguf([kv_scalar("general.alignment", "u32", 64)],
                                       [("a", [3], 0, f32(3)), ("b", [2, 2], 26, struct.pack("<4i", 1, 2, 3, 4))],
                                       alignment=64))
    write("gguf", "kquant_4d.gguf", gguf([kv_array("tokenizer.ggml.tokens", "string", ["t%d" % k for k in range(20)])],
                                         [("k", [256, 1, 1, 2], 12, b"\x11" * 288), ("e", [0, 3], 0, b"")]))
    write("gguf", "empty.gguf", gguf([], []))

    write("safetensors", "dtypes.safetensors", safetensors(
        [("f32", "F32", [2, 2], f32(4)), ("f16", "F16", [3], b"\0\x3c" * 3), ("bf16", "BF16", [1, 2], b"\x80\x3f" * 2),
         ("i64", "I64", [1], struct.pack("<q", -5)), ("bool", "BOOL", [3], b"\1\0\1"), ("u8", "U8", [2], b"\1\2"),
         ("e4m3", "F8_E4M3", [2], b"\x38\x40")], {"format": "pt"}))
    write("safetensors", "scalar_empty.safetensors",
          safetensors([("s", "F64", [], struct.pack("<d", 3.5)), ("e", "I32", [0, 4], b"")]))
    write("safetensors", "no_tensors.safetensors", safetensors([], {"k": "v"}))


if __name__ == "__main__":
    main()
