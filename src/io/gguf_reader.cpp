#include "io/gguf_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "core/error.h"
#include "io/byte_cursor.h"

namespace tern::io {
namespace {

// Arrays of arrays are legal GGUF; the cap keeps a hostile file from recursing deep.
constexpr int kMaxArrayDepth = 8;

// Smallest encoding of one value of type t, so a count can be capped by the bytes left.
uint64_t min_encoded_size(GgufType t) {
    if (t == GgufType::string) return 8;       // length only
    if (t == GgufType::array) return 4 + 8;    // element type + count
    return gguf_scalar_size(t);
}

GgufType read_type_tag(ByteCursor& in, const char* what) {
    const uint32_t tag = in.read<uint32_t>(what);
    if (tag >= kGgufTypeCount) throw InputError(in.where(), format("unknown value type %u", tag));
    return static_cast<GgufType>(tag);
}

std::string read_string(ByteCursor& in, const char* what) {
    const uint64_t n = in.read<uint64_t>(what);
    // need() caps n by the bytes left, so no allocation is larger than the file.
    return std::string(in.read_bytes(n, what));
}

GgufValue read_value(ByteCursor& in, GgufType type, int depth);

GgufValue read_array(ByteCursor& in, int depth) {
    if (depth >= kMaxArrayDepth)
        throw InputError(in.where(), format("arrays nested deeper than %d levels", kMaxArrayDepth));
    GgufValue a;
    a.type = GgufType::array;
    a.elem_type = read_type_tag(in, "array element type");
    a.count = in.read<uint64_t>("array length");
    const uint64_t min_size = min_encoded_size(a.elem_type);
    if (a.count > in.remaining() / min_size)
        throw InputError(in.where(), format("array of %llu %s values needs at least %llu bytes but only %zu remain",
                                            static_cast<unsigned long long>(a.count), gguf_type_name(a.elem_type),
                                            static_cast<unsigned long long>(a.count) * min_size, in.remaining()));
    if (a.elem_type == GgufType::string) {
        a.strings.reserve(a.count);
        for (uint64_t k = 0; k < a.count; ++k) a.strings.push_back(read_string(in, "array string"));
    } else if (a.elem_type == GgufType::array) {
        a.items.reserve(a.count);
        for (uint64_t k = 0; k < a.count; ++k) a.items.push_back(read_array(in, depth + 1));
    } else {
        const std::string_view raw = in.read_bytes(a.count * min_size, "array data");
        a.packed.assign(raw.begin(), raw.end());
    }
    return a;
}

GgufValue read_value(ByteCursor& in, GgufType type, int depth) {
    switch (type) {
        case GgufType::u8: return GgufValue::scalar_u(type, in.read<uint8_t>("u8 value"));
        case GgufType::u16: return GgufValue::scalar_u(type, in.read<uint16_t>("u16 value"));
        case GgufType::u32: return GgufValue::scalar_u(type, in.read<uint32_t>("u32 value"));
        case GgufType::u64: return GgufValue::scalar_u(type, in.read<uint64_t>("u64 value"));
        case GgufType::boolean: return GgufValue::of_bool(in.read<uint8_t>("bool value") != 0);
        case GgufType::i8: return GgufValue::scalar_i(type, in.read<int8_t>("i8 value"));
        case GgufType::i16: return GgufValue::scalar_i(type, in.read<int16_t>("i16 value"));
        case GgufType::i32: return GgufValue::scalar_i(type, in.read<int32_t>("i32 value"));
        case GgufType::i64: return GgufValue::scalar_i(type, in.read<int64_t>("i64 value"));
        case GgufType::f32: return GgufValue::scalar_f(type, in.read<float>("f32 value"));
        case GgufType::f64: return GgufValue::scalar_f(type, in.read<double>("f64 value"));
        case GgufType::string: return GgufValue::of_string(read_string(in, "string value"));
        case GgufType::array: return read_array(in, depth);
    }
    throw InputError(in.where(), "unknown value type");
}

// Re-throws an error from inside one key or tensor with that item named.
[[noreturn]] void rethrow_with_context(const InputError& e, const std::string& where, const std::string& context) {
    throw InputError(where, context + ": " + e.detail());
}

uint32_t read_alignment(const GgufMetadata& md, const std::string& where) {
    const GgufValue* v = find_metadata(md, "general.alignment");
    if (!v) return kGgufDefaultAlignment;
    if (v->type != GgufType::u32)
        throw InputError(where, std::string("general.alignment must be a u32, not ") + gguf_type_name(v->type));
    if (v->u == 0 || (v->u & (v->u - 1)) != 0)
        throw InputError(where, format("general.alignment %llu is not a power of two",
                                       static_cast<unsigned long long>(v->u)));
    return static_cast<uint32_t>(v->u);
}

GgufTensorInfo read_tensor_info(ByteCursor& in) {
    GgufTensorInfo t;
    t.name = read_string(in, "tensor name");
    try {
        const uint32_t n_dims = in.read<uint32_t>("n_dims");
        if (n_dims == 0 || n_dims > kGgufMaxDims)
            throw InputError(in.where(), format("n_dims %u is outside 1..%u", n_dims, kGgufMaxDims));
        uint64_t ne[kGgufMaxDims] = {};
        uint64_t numel = 1;
        // The product of the non-zero dims must fit too: a zero dim elsewhere would
        // hide the overflow here, yet multiplying in another order would still overflow.
        uint64_t nonzero_product = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            ne[d] = in.read<uint64_t>("dimension");
            if (ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw InputError(in.where(), format("dimension %u is %llu, beyond int64", d,
                                                    static_cast<unsigned long long>(ne[d])));
            if (ne[d] != 0 && (!checked_mul(nonzero_product, ne[d], &nonzero_product) ||
                               nonzero_product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))
                throw InputError(in.where(), "element count overflows 64 bits");
            numel *= ne[d];  // cannot overflow: bounded by nonzero_product
        }
        t.ggml_type = in.read<uint32_t>("tensor type");
        t.offset = in.read<uint64_t>("tensor offset");
        const auto dtype = dtype_from_ggml_type(t.ggml_type);
        if (!dtype) throw InputError(in.where(), format("unknown or unsupported ggml type id %u", t.ggml_type));
        t.dtype = *dtype;
        const auto& info = dtype_info(t.dtype);
        if (ne[0] % info.block_size != 0)
            throw InputError(in.where(), format("row length %llu is not a multiple of the %s block size %u",
                                                static_cast<unsigned long long>(ne[0]), info.name.data(),
                                                info.block_size));
        // numel is a multiple of the block size because ne[0] is, so this is exact.
        if (!checked_mul(numel / info.block_size, info.block_bytes, &t.nbytes))
            throw InputError(in.where(), "byte size overflows 64 bits");
        for (uint32_t d = n_dims; d-- > 0;) t.shape.push_back(static_cast<int64_t>(ne[d]));
    } catch (const InputError& e) {
        rethrow_with_context(e, in.where(), "tensor '" + t.name + "'");
    }
    return t;
}

// Offsets must be aligned, in range, and tensors must not share bytes.
void place_tensors(GgufFile& f, const std::string& where) {
    for (auto& t : f.tensors) {
        const std::string ctx = "tensor '" + t.name + "': ";
        if (t.offset % f.alignment != 0)
            throw InputError(where, ctx + format("offset %llu is not a multiple of the alignment %u",
                                                 static_cast<unsigned long long>(t.offset), f.alignment));
        uint64_t end = 0;
        if (!checked_add(f.data_offset, t.offset, &t.file_offset) || !checked_add(t.file_offset, t.nbytes, &end))
            throw InputError(where, ctx + "data range overflows 64 bits");
        if (end > f.file_bytes)
            throw InputError(where, ctx + format("data ends at byte %llu but file has %llu",
                                                 static_cast<unsigned long long>(end),
                                                 static_cast<unsigned long long>(f.file_bytes)));
    }
    std::vector<const GgufTensorInfo*> by_offset;
    for (const auto& t : f.tensors)
        if (t.nbytes > 0) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
    for (size_t k = 1; k < by_offset.size(); ++k) {
        const auto* prev = by_offset[k - 1];
        if (prev->offset + prev->nbytes > by_offset[k]->offset)
            throw InputError(where, "tensor '" + by_offset[k]->name + "': data overlaps tensor '" + prev->name + "'");
    }
}

}  // namespace

bool looks_like_gguf(std::span<const uint8_t> bytes) {
    return bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0;
}

GgufFile parse_gguf(std::span<const uint8_t> bytes, const std::string& where) {
    ByteCursor in(bytes, where);
    GgufFile f;
    f.file_bytes = bytes.size();
    if (bytes.size() < 4) throw InputError(where, format("not a GGUF file: only %zu bytes", bytes.size()));
    if (!looks_like_gguf(bytes)) throw InputError(where, "not a GGUF file (magic is not 'GGUF')");
    in.skip(4, "magic");
    f.version = in.read<uint32_t>("version");
    if (f.version == 1) throw InputError(where, "GGUF v1 is not supported (re-convert the model to v2 or v3)");
    if ((f.version & 0xffff) == 0 && (f.version >> 16) != 0)
        throw InputError(where, "big-endian GGUF is not supported");
    if (f.version != 2 && f.version != 3) throw InputError(where, format("unsupported GGUF version %u", f.version));

    const uint64_t n_tensors = in.read<uint64_t>("tensor count");
    const uint64_t n_kv = in.read<uint64_t>("metadata count");
    // A key-value pair is at least 13 bytes (key length, type, 1-byte value).
    if (n_kv > in.remaining() / 13)
        throw InputError(where, format("metadata count %llu cannot fit in the %zu bytes left",
                                       static_cast<unsigned long long>(n_kv), in.remaining()));
    std::unordered_set<std::string> keys;
    f.metadata.reserve(n_kv);
    for (uint64_t k = 0; k < n_kv; ++k) {
        std::string key = read_string(in, "metadata key");
        try {
            const GgufType type = read_type_tag(in, "value type");
            GgufValue v = read_value(in, type, 0);
            if (!keys.insert(key).second) throw InputError(where, "duplicate key");
            f.metadata.emplace_back(std::move(key), std::move(v));
        } catch (const InputError& e) {
            rethrow_with_context(e, where, "metadata key '" + key + "'");
        }
    }
    f.alignment = read_alignment(f.metadata, where);

    // A tensor info is at least 24 bytes (name length, n_dims, type, offset).
    if (n_tensors > in.remaining() / 24)
        throw InputError(where, format("tensor count %llu cannot fit in the %zu bytes left",
                                       static_cast<unsigned long long>(n_tensors), in.remaining()));
    std::unordered_set<std::string> names;
    f.tensors.reserve(n_tensors);
    for (uint64_t k = 0; k < n_tensors; ++k) {
        GgufTensorInfo t = read_tensor_info(in);
        if (!names.insert(t.name).second) throw InputError(where, "duplicate tensor name '" + t.name + "'");
        f.tensors.push_back(std::move(t));
    }
    // The data section starts at the next multiple of the alignment.
    const uint64_t header_end = in.position();
    const uint64_t pad = (f.alignment - header_end % f.alignment) % f.alignment;
    if (!checked_add(header_end, pad, &f.data_offset)) throw InputError(where, "data offset overflows");
    place_tensors(f, where);
    return f;
}

GgufModel read_gguf(const std::string& path) {
    GgufModel m;
    m.file = MappedFile::open(path);
    m.info = parse_gguf(std::span<const uint8_t>(m.file->data(), m.file->size()), path);
    m.tensors.reserve(m.info.tensors.size());
    for (const auto& t : m.info.tensors)
        m.tensors.push_back({t.name, Tensor::view_of_file(m.file, t.file_offset, t.shape, t.dtype)});
    return m;
}

}  // namespace tern::io
