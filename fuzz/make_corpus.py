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
    os.makedirs(os.path.join(HERE, "corpus", sub), exist_ok=True)
    with open(os.path.join(HERE, "corpus", sub, name), "wb") as f:
        f.write(blob)


def pattern_f32(n, seed=1):
    """n small finite floats (so a seed model computes real numbers)."""
    return b"".join(struct.pack("<f", ((k * 7 + seed * 13) % 17 - 8) / 64.0) for k in range(n))


def q8_0_rows(rows, cols):
    """rows x cols weights in ggml's q8_0 blocks: f16 scale, then 32 int8."""
    out = b""
    for r in range(rows):
        for b in range(cols // 32):
            out += struct.pack("<H", 0x2c00) + bytes(((r * 5 + b * 3 + k * 7) % 31 + 240) % 256 for k in range(32))
    return out


def tiny_lm(arch, d=8, n_ff=16, n_head=2, n_head_kv=1, vocab=16, ctx=8, q8=False, tokens=False):
    """A one-layer decoder-only LM in llama.cpp's GGUF names. Matrices (out, in)
    are stored innermost-first as [in, out]."""
    hd = d // n_head
    q_dim, kv_dim = n_head * hd, n_head_kv * hd
    kvs = [kv_string("general.architecture", arch), kv_scalar(arch + ".embedding_length", "u32", d),
           kv_scalar(arch + ".block_count", "u32", 1), kv_scalar(arch + ".feed_forward_length", "u32", n_ff),
           kv_scalar(arch + ".attention.head_count", "u32", n_head), kv_scalar(arch + ".context_length", "u32", ctx)]
    if arch == "gpt2":
        kvs.append(kv_scalar("gpt2.attention.layer_norm_epsilon", "f32", 1e-5))
    else:
        kvs += [kv_scalar(arch + ".attention.head_count_kv", "u32", n_head_kv),
                kv_scalar(arch + ".attention.layer_norm_rms_epsilon", "f32", 1e-5)]
    if tokens:
        kvs.append(kv_array("tokenizer.ggml.tokens", "string", ["<s>", "</s>"] + ["\u0120t%d" % k for k in range(vocab - 2)]))
        kvs += [kv_scalar("tokenizer.ggml.bos_token_id", "u32", 0), kv_scalar("tokenizer.ggml.eos_token_id", "u32", 1)]
    seed = [0]

    def vec(name, n):
        seed[0] += 1
        return (name, [n], 0, pattern_f32(n, seed[0]))

    def mat(name, out_dim, in_dim):
        seed[0] += 1
        if q8 and in_dim % 32 == 0:
            return (name, [in_dim, out_dim], 8, q8_0_rows(out_dim, in_dim))
        return (name, [in_dim, out_dim], 0, pattern_f32(out_dim * in_dim, seed[0]))

    t = [("token_embd.weight", [d, vocab], 0, pattern_f32(d * vocab))]
    b = "blk.0."
    t += [vec(b + "attn_norm.weight", d), vec(b + "ffn_norm.weight", d)]
    if arch == "gpt2":
        t += [("position_embd.weight", [d, ctx], 0, pattern_f32(d * ctx, 5)),
              vec(b + "attn_norm.bias", d), vec(b + "ffn_norm.bias", d),
              mat(b + "attn_qkv.weight", 3 * d, d), vec(b + "attn_qkv.bias", 3 * d),
              mat(b + "attn_output.weight", d, d), vec(b + "attn_output.bias", d),
              mat(b + "ffn_up.weight", n_ff, d), vec(b + "ffn_up.bias", n_ff),
              mat(b + "ffn_down.weight", d, n_ff), vec(b + "ffn_down.bias", d), vec("output_norm.bias", d)]
    else:
        t += [mat(b + "attn_q.weight", q_dim, d), mat(b + "attn_k.weight", kv_dim, d),
              mat(b + "attn_v.weight", kv_dim, d), mat(b + "attn_output.weight", d, q_dim),
              mat(b + "ffn_gate.weight", n_ff, d), mat(b + "ffn_up.weight", n_ff, d), mat(b + "ffn_down.weight", d, n_ff)]
        if arch == "qwen2":
            t += [vec(b + "attn_q.bias", q_dim), vec(b + "attn_k.bias", kv_dim), vec(b + "attn_v.bias", kv_dim)]
    t.append(vec("output_norm.weight", d))
    if arch == "llama" and not q8:
        t.append(mat("output.weight", vocab, d))
    return gguf(kvs, t)


def classifier_header(path):
    """The JSON header of a committed classifier, recipe dropped (the fuzz target
    synthesises the data section), space-padded as safetensors writers do."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header["__metadata__"] = {k: v for k, v in header["__metadata__"].items() if k != "tern.recipe"}
    text = json.dumps(header, separators=(",", ":")).encode()
    return text + b" " * ((-(8 + len(text))) % 8)


def packed_classifier_header(path, method, layers):
    """A classifier header with `layers` stored packed as nn/train/binary_file.h
    says (u8 bits / codes per row, f32 alpha per row) and "tern.binary" metadata,
    so the fuzzer reaches the unpacker."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    meta = {k: v for k, v in header.pop("__metadata__").items() if k != "tern.recipe"}
    ternary = method in ("twn", "ttq")
    entries = []
    for name, t in header.items():
        layer = name[:-len(".weight")] if name.endswith(".weight") else None
        if layer in layers:
            rows, inner = t["shape"][0], 1
            for d in t["shape"][1:]:
                inner *= d
            per_row = (inner + 3) // 4 if ternary else (inner + 7) // 8
            entries.append((layer + (".weight.codes" if ternary else ".weight.bits"), "U8", [rows, per_row], rows * per_row))
            if method != "ttq":
                entries.append((layer + ".weight.alpha", "F32", [rows], 4 * rows))
        else:
            entries.append((name, t["dtype"], t["shape"], t["data_offsets"][1] - t["data_offsets"][0]))
    out, off = {}, 0
    for name, dtype, shape, size in entries:
        out[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + size]}
        off += size
    meta["tern.binary"] = json.dumps({"method": method, "threshold": 0.7 if method == "twn" else 0,
                                      "keep_first_last": True, "layers": layers})
    out["__metadata__"] = meta
    text = json.dumps(out, separators=(",", ":")).encode()
    return text + b" " * ((-(8 + len(text))) % 8)


CLI_SEEDS = {
    "info.args": ["info", "model.gguf", "--json", "--no-tensors"],
    "info_cpu.args": ["info", "--cpu"],
    "generate.args": ["generate", "m.gguf", "-p", "Once upon", "-n", "8", "--temp", "0.7", "--top-k", "40",
                      "--top-p", "0.9", "--min-p", "0.05", "--repeat-penalty", "1.1", "--repeat-last-n", "64",
                      "--seed", "3", "-c", "128", "--kv", "f32", "-t", "2", "--ignore-eos"],
    "generate_tokens.args": ["generate", "m.gguf", "--tokens", "1 2 3", "--json", "--fpmath", "auto"],
    "chat.args": ["chat", "m.gguf", "--system", "Be brief.", "-n", "16", "--template", "chatml", "-v"],
    "perplexity.args": ["perplexity", "m.gguf", "--text", "t.txt", "-c", "64", "--chunks", "2", "--kv", "f16"],
    "bench.args": ["bench", "m.gguf", "--prompt", "32", "--gen", "16", "--reps", "2", "--roofline", "--json"],
    "bench_kernels.args": ["bench", "--kernels", "--quick", "-t", "1"],
    "quantize.args": ["quantize", "m.gguf", "-o", "out.gguf", "--format", "q4_0", "--method", "rtn", "--measure"],
    "formats.args": ["formats", "--synthetic", "gaussian", "--format", "q8_0", "--n", "4096", "--seed", "1"],
    "eval.args": ["eval", "c.safetensors", "--data", "fashion-mnist", "--data-dir", "d", "--json"],
    "tokenize.args": ["tokenize", "--tokenizer", "tok.json", "--text", "Hello", "--add-special", "--summary"],
    "train.args": ["train", "recipe.json", "--epochs", "2", "--out", "o.safetensors", "--resume", "r"],
    "synth.args": ["synth", "--shape", "tiny", "--type", "q8_0", "-o", "s.gguf", "--seed", "2"],
    "help.args": ["--help"],
    "version.args": ["--version"],
}


def write_llm_and_cli_seeds():
    write("llm_gguf", "llama_f32.gguf", tiny_lm("llama", tokens=True))
    write("llm_gguf", "qwen2_f32.gguf", tiny_lm("qwen2", n_head_kv=2))
    write("llm_gguf", "gpt2_f32.gguf", tiny_lm("gpt2"))
    write("llm_gguf", "llama_q8_0.gguf", tiny_lm("llama", d=32, n_ff=32, vocab=8, q8=True))
    for name in ("lenet5", "lenet300", "mobilenetv2_tiny"):
        header = classifier_header(os.path.join(HERE, "..", "models", "fmnist-%s.safetensors" % name))
        write("classifier", name + ".json", header)
    lenet5 = os.path.join(HERE, "..", "models", "fmnist-lenet5.safetensors")
    for method in ("bwn", "twn"):
        write("classifier", "lenet5_%s.json" % method, packed_classifier_header(lenet5, method, ["conv2", "fc1", "fc2"]))
    for name, args in CLI_SEEDS.items():
        write("cli", name, b"\0".join(a.encode() for a in args))


# --- ONNX (protobuf wire format, field numbers from onnx.proto) and .npy ---
def pb_varint(v):
    out = b""
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_int(field, v):
    return pb_varint(field << 3) + pb_varint(v)


def pb_bytes(field, b):
    b = b.encode() if isinstance(b, str) else b
    return pb_varint(field << 3 | 2) + pb_varint(len(b)) + b


def onnx_value(name, dims):  # ValueInfoProto: name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{dim_value=1}}}}
    shape = b"".join(pb_bytes(1, pb_int(1, d)) for d in dims)
    return pb_bytes(1, name) + pb_bytes(2, pb_bytes(1, pb_int(1, 1) + pb_bytes(2, shape)))


def onnx_tensor(name, dims, floats):  # TensorProto: dims=1, data_type=2, name=8, raw_data=9
    return b"".join(pb_int(1, d) for d in dims) + pb_int(2, 1) + pb_bytes(8, name) + pb_bytes(
        9, b"".join(struct.pack("<f", x) for x in floats))


def onnx_node(op, name, ins, outs, attrs=b""):  # NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
    return b"".join(pb_bytes(1, i) for i in ins) + b"".join(pb_bytes(2, o) for o in outs) + pb_bytes(
        3, name) + pb_bytes(4, op) + attrs


def onnx_ints_attr(name, values):  # AttributeProto: name=1, ints=8, type=20 (INTS = 7)
    return pb_bytes(5, pb_bytes(1, name) + b"".join(pb_int(8, v) for v in values) + pb_int(20, 7))


def onnx_model(nodes, inits, inputs, outputs, opset=13):
    # ModelProto: ir_version=1, graph=7, opset_import=8{domain=1, version=2}; GraphProto: node=1, name=2,
    # initializer=5, input=11, output=12
    graph = b"".join(pb_bytes(1, n) for n in nodes) + pb_bytes(2, "g") + b"".join(pb_bytes(5, t) for t in inits)
    graph += b"".join(pb_bytes(11, v) for v in inputs) + b"".join(pb_bytes(12, v) for v in outputs)
    return pb_int(1, 8) + pb_bytes(7, graph) + pb_bytes(8, pb_bytes(1, "") + pb_int(2, opset))


def npy(descr, shape, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % d for d in shape).rstrip(" ") if len(shape) != 1 else "%d," % shape[0])
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def write_graph_seeds():
    conv = onnx_node("Conv", "conv0", ["x", "w", "b"], ["c"], onnx_ints_attr("pads", [1, 1, 1, 1]))
    nodes = [conv, onnx_node("Relu", "relu0", ["c"], ["r"]), onnx_node("MaxPool", "pool0", ["r"], ["p"],
             onnx_ints_attr("kernel_shape", [2, 2]) + onnx_ints_attr("strides", [2, 2])),
             onnx_node("Flatten", "flat0", ["p"], ["f"]), onnx_node("Gemm", "fc0", ["f", "fw"], ["y"])]
    inits = [onnx_tensor("w", [2, 1, 3, 3], [k / 9 for k in range(18)]), onnx_tensor("b", [2], [0.5, -0.5]),
             onnx_tensor("fw", [8, 3], [k / 24 for k in range(24)])]
    write("onnx", "small_cnn.onnx", onnx_model(nodes, inits, [onnx_value("x", [1, 1, 4, 4])], [onnx_value("y", [1, 3])]))
    write("onnx", "add_opset9.onnx", onnx_model([onnx_node("Add", "add0", ["a", "a"], ["s"])], [],
                                                [onnx_value("a", [3])], [onnx_value("s", [3])], opset=9))
    write("npy", "f32_2x3.npy", npy("<f4", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, 6)))
    write("npy", "i64_vec.npy", npy("<i8", [2], struct.pack("<2q", -1, 7)))
    write("npy", "u8_scalar.npy", npy("|u1", [], b"\x05"))


def write_tflite_seeds():
    """TFLite seeds: a JSON model turned into the binary by Debian's flatc with the
    schema written in src/graph/tflite_schema.fbs (no tern code involved)."""
    import subprocess
    import tempfile
    f32 = lambda vals: list(struct.pack("<%df" % len(vals), *vals))
    i32 = lambda vals: list(struct.pack("<%di" % len(vals), *vals))
    model = {
        "version": 3,
        "operator_codes": [{"deprecated_builtin_code": 3, "builtin_code": 3}, {"deprecated_builtin_code": 34, "builtin_code": 34},
                           {"deprecated_builtin_code": 17, "builtin_code": 17}, {"deprecated_builtin_code": 22, "builtin_code": 22}],
        "subgraphs": [{
            "tensors": [
                {"shape": [1, 4, 4, 2], "buffer": 0, "name": "x"},
                {"shape": [3, 1, 1, 2], "buffer": 1, "name": "w"},
                {"shape": [3], "buffer": 2, "name": "b"},
                {"shape": [1, 4, 4, 3], "buffer": 0, "name": "c"},
                {"shape": [4, 2], "type": "INT32", "buffer": 3, "name": "pads"},
                {"shape": [1, 4, 4, 4], "buffer": 0, "name": "p"},
                {"shape": [1, 2, 2, 4], "buffer": 0, "name": "m"},
                {"shape": [1, 16], "buffer": 0, "name": "y"},
            ],
            "inputs": [0], "outputs": [7],
            "operators": [
                {"opcode_index": 0, "inputs": [0, 1, 2], "outputs": [3], "builtin_options_type": "Conv2DOptions",
                 "builtin_options": {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU"}},
                {"opcode_index": 1, "inputs": [3, 4], "outputs": [5]},
                {"opcode_index": 2, "inputs": [5], "outputs": [6], "builtin_options_type": "Pool2DOptions",
                 "builtin_options": {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_width": 2, "filter_height": 2}},
                {"opcode_index": 3, "inputs": [6], "outputs": [7], "builtin_options_type": "ReshapeOptions",
                 "builtin_options": {"new_shape": [1, -1]}},
            ],
            "name": "main"}],
        "description": "tern fuzz seed",
        "buffers": [{}, {"data": f32([k / 6 for k in range(6)])}, {"data": f32([0.5, -0.5, 0.25])},
                    {"data": i32([0, 0, 0, 0, 0, 0, 0, 1])}],
    }
    schema = os.path.join(HERE, "..", "src", "graph", "tflite_schema.fbs")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "conv_pad_pool.json")
        with open(src, "w") as f:
            json.dump(model, f)
        subprocess.run(["flatc", "-b", "-o", tmp, schema, src], check=True)
        with open(os.path.join(tmp, "conv_pad_pool.bin"), "rb") as f:
            write("tflite", "conv_pad_pool.tflite", f.read())


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
    write_llm_and_cli_seeds()
    write_graph_seeds()
    write_tflite_seeds()


if __name__ == "__main__":
    main()
