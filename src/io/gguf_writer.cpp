#include "io/gguf_writer.h"

#include <cstring>
#include <unordered_set>

#include "core/error.h"
#include "core/mapped_file.h"

namespace tern::io {
namespace {

class ByteSink {
public:
    template <class T>
    void put(T v) {
        put_raw(&v, sizeof(T));  // little-endian host
    }
    void put_raw(const void* p, size_t n) {
        if (n == 0) return;
        const size_t at = bytes.size();
        bytes.resize(at + n);
        std::memcpy(bytes.data() + at, p, n);
    }
    void put_string(const std::string& s) {
        put<uint64_t>(s.size());
        put_raw(s.data(), s.size());
    }
    std::vector<uint8_t> bytes;
};

void put_value(ByteSink& out, const GgufValue& v, const std::string& key);

void put_array(ByteSink& out, const GgufValue& v, const std::string& key) {
    out.put<uint32_t>(static_cast<uint32_t>(v.elem_type));
    out.put<uint64_t>(v.count);
    if (v.elem_type == GgufType::string) {
        if (v.strings.size() != v.count) throw InputError(key, "string array count does not match its items");
        for (const auto& s : v.strings) out.put_string(s);
    } else if (v.elem_type == GgufType::array) {
        if (v.items.size() != v.count) throw InputError(key, "array-of-arrays count does not match its items");
        for (const auto& item : v.items) {
            if (item.type != GgufType::array) throw InputError(key, "array-of-arrays item is not an array");
            put_array(out, item, key);
        }
    } else {
        const size_t sz = gguf_scalar_size(v.elem_type);
        if (sz == 0 || v.packed.size() != v.count * sz)
            throw InputError(key, "numeric array bytes do not match count x element size");
        out.put_raw(v.packed.data(), v.packed.size());
    }
}

void put_value(ByteSink& out, const GgufValue& v, const std::string& key) {
    switch (v.type) {
        case GgufType::u8: out.put<uint8_t>(static_cast<uint8_t>(v.u)); break;
        case GgufType::u16: out.put<uint16_t>(static_cast<uint16_t>(v.u)); break;
        case GgufType::u32: out.put<uint32_t>(static_cast<uint32_t>(v.u)); break;
        case GgufType::u64: out.put<uint64_t>(v.u); break;
        case GgufType::boolean: out.put<uint8_t>(v.u ? 1 : 0); break;
        case GgufType::i8: out.put<int8_t>(static_cast<int8_t>(v.i)); break;
        case GgufType::i16: out.put<int16_t>(static_cast<int16_t>(v.i)); break;
        case GgufType::i32: out.put<int32_t>(static_cast<int32_t>(v.i)); break;
        case GgufType::i64: out.put<int64_t>(v.i); break;
        case GgufType::f32: out.put<float>(static_cast<float>(v.f)); break;
        case GgufType::f64: out.put<double>(v.f); break;
        case GgufType::string: out.put_string(v.s); break;
        case GgufType::array: put_array(out, v, key); break;
    }
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

uint32_t alignment_of(const GgufMetadata& md) {
    const GgufValue* v = find_metadata(md, "general.alignment");
    if (!v) return kGgufDefaultAlignment;
    if (v->type != GgufType::u32 || v->u == 0 || (v->u & (v->u - 1)) != 0)
        throw InputError("gguf", "general.alignment must be a u32 power of two");
    return static_cast<uint32_t>(v->u);
}

struct GgufLayout {
    std::vector<uint8_t> header;  // up to and including the padding before the data section
    std::vector<Tensor> data;     // contiguous tensors, in order
    uint32_t alignment = kGgufDefaultAlignment;
};

GgufLayout build_gguf_layout(const GgufMetadata& metadata, const std::vector<NamedTensor>& tensors) {
    GgufLayout l;
    l.alignment = alignment_of(metadata);
    ByteSink out;
    out.put_raw("GGUF", 4);
    out.put<uint32_t>(3);
    out.put<uint64_t>(tensors.size());
    out.put<uint64_t>(metadata.size());
    std::unordered_set<std::string> keys;
    for (const auto& [key, value] : metadata) {
        if (!keys.insert(key).second) throw InputError(key, "duplicate metadata key");
        out.put_string(key);
        out.put<uint32_t>(static_cast<uint32_t>(value.type));
        put_value(out, value, key);
    }
    std::unordered_set<std::string> names;
    uint64_t offset = 0;
    for (const auto& nt : tensors) {
        const Tensor& t = nt.tensor;
        if (!names.insert(nt.name).second) throw InputError(nt.name, "duplicate tensor name");
        const auto type = ggml_type_from_dtype(t.dtype());
        if (!type) throw InputError(nt.name, "GGUF cannot store dtype " + std::string(dtype_name(t.dtype())));
        if (t.rank() < 1 || t.rank() > static_cast<int>(kGgufMaxDims))
            throw InputError(nt.name, format("GGUF tensors have 1..4 dims, this one has %d", t.rank()));
        const auto& info = dtype_info(t.dtype());
        if (t.shape().back() % info.block_size != 0)
            throw InputError(nt.name, format("row length %lld is not a multiple of the %s block size %u",
                                             static_cast<long long>(t.shape().back()), info.name.data(),
                                             info.block_size));
        out.put_string(nt.name);
        out.put<uint32_t>(static_cast<uint32_t>(t.rank()));
        for (int d = t.rank(); d-- > 0;) out.put<uint64_t>(static_cast<uint64_t>(t.shape()[d]));  // innermost first
        out.put<uint32_t>(*type);
        out.put<uint64_t>(offset);
        l.data.push_back(t.contiguous());
        offset = align_up(offset + t.nbytes(), l.alignment);
    }
    out.bytes.resize(align_up(out.bytes.size(), l.alignment), 0);
    l.header = std::move(out.bytes);
    return l;
}

}  // namespace

void write_gguf(const std::string& path, const GgufMetadata& metadata, const std::vector<NamedTensor>& tensors,
                const std::function<void(const std::string& staged_path)>& verify) {
    GgufLayout l;
    try {
        l = build_gguf_layout(metadata, tensors);
    } catch (const InputError& e) {
        throw InputError(path, e.what());
    }
    AtomicFileWriter w(path);
    w.write(l.header.data(), l.header.size());
    for (const auto& t : l.data) {
        const size_t n = t.nbytes();
        w.write(t.raw_data(), n);
        // Every tensor, the last included, is padded: llama.cpp reads padded sizes.
        w.write_zeros(align_up(n, l.alignment) - n);
    }
    if (verify) verify(w.staged_path());
    w.commit();
}

std::vector<uint8_t> gguf_to_bytes(const GgufMetadata& metadata, const std::vector<NamedTensor>& tensors) {
    GgufLayout l = build_gguf_layout(metadata, tensors);
    std::vector<uint8_t> out = std::move(l.header);
    for (const auto& t : l.data) {
        const size_t n = t.nbytes();
        out.insert(out.end(), t.raw_data(), t.raw_data() + n);
        out.resize(align_up(out.size(), l.alignment), 0);
    }
    return out;
}

}  // namespace tern::io
