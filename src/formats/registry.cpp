#include <string>

#include "core/error.h"
#include "formats/format.h"
#include "formats/sparse24_block.h"
#include "formats/w8a8_block.h"

namespace tern {
namespace {

std::vector<FormatDescriptor> build_registry() {
    std::vector<FormatDescriptor> all;
    for (auto family : {float_formats(), int_formats(), mx_formats(), gguf_formats(), w8a8_formats(), sparse24_formats()})
        all.insert(all.end(), family.begin(), family.end());
    // A storage type's codec must agree with its row in core/storage_types.h.
    for (const auto& f : all) {
        if (!f.dtype) continue;
        const StorageType& s = storage_type(*f.dtype);
        if (f.name != s.name || f.block_size != s.block_size || f.block_bytes != s.block_bytes)
            throw Error("formats", "format " + std::string(f.name) + " disagrees with the storage type table row " +
                                       std::string(s.name));
    }
    return all;
}

}  // namespace

std::span<const FormatDescriptor> all_formats() {
    static const std::vector<FormatDescriptor> registry = build_registry();
    return registry;
}

const FormatDescriptor* find_format(std::string_view name) {
    for (const auto& f : all_formats())
        if (f.name == name) return &f;
    return nullptr;
}

const FormatDescriptor& format_by_name(std::string_view name) {
    if (const auto* f = find_format(name)) return *f;
    std::string known;
    for (const auto& f : all_formats()) {
        if (!known.empty()) known += ", ";
        known += f.name;
    }
    throw InputError("format", "unknown format '" + std::string(name) + "' (known: " + known + ")");
}

// Storage types and their codecs share the table's name.
const FormatDescriptor* format_for_dtype(DType dtype) {
    const FormatDescriptor* f = find_format(dtype_info(dtype).name);
    return f && f->dtype == dtype ? f : nullptr;
}

std::vector<float> round_trip(const FormatDescriptor& fmt, std::span<const float> x) {
    const int64_t bs = fmt.block_size;
    const int64_t n = (static_cast<int64_t>(x.size()) + bs - 1) / bs * bs;
    std::vector<float> padded(x.begin(), x.end());
    padded.resize(static_cast<size_t>(n), 0.0f);
    std::vector<uint8_t> packed(fmt.bytes_for(n));
    fmt.quantize(padded.data(), packed.data(), n);
    std::vector<float> y(static_cast<size_t>(n));
    fmt.dequantize(packed.data(), y.data(), n);
    y.resize(x.size());
    return y;
}

}  // namespace tern
