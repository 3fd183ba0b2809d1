#include "io/gguf_types.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace tern::io {

const char* gguf_type_name(GgufType t) {
    static constexpr std::array<const char*, kGgufTypeCount> names = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
    const auto i = static_cast<uint32_t>(t);
    return i < names.size() ? names[i] : "unknown";
}

size_t gguf_scalar_size(GgufType t) {
    switch (t) {
        case GgufType::u8: case GgufType::i8: case GgufType::boolean: return 1;
        case GgufType::u16: case GgufType::i16: return 2;
        case GgufType::u32: case GgufType::i32: case GgufType::f32: return 4;
        case GgufType::u64: case GgufType::i64: case GgufType::f64: return 8;
        case GgufType::string: case GgufType::array: return 0;
    }
    return 0;
}

GgufValue GgufValue::scalar_u(GgufType t, uint64_t v) {
    GgufValue x;
    x.type = t;
    x.u = v;
    return x;
}
GgufValue GgufValue::scalar_i(GgufType t, int64_t v) {
    GgufValue x;
    x.type = t;
    x.i = v;
    return x;
}
GgufValue GgufValue::scalar_f(GgufType t, double v) {
    GgufValue x;
    x.type = t;
    x.f = v;
    return x;
}
GgufValue GgufValue::of_string(std::string v) {
    GgufValue x;
    x.type = GgufType::string;
    x.s = std::move(v);
    return x;
}
GgufValue GgufValue::of_strings(std::vector<std::string> v) {
    GgufValue x;
    x.type = GgufType::array;
    x.elem_type = GgufType::string;
    x.count = v.size();
    x.strings = std::move(v);
    return x;
}
GgufValue GgufValue::of_arrays(std::vector<GgufValue> v) {
    for (const auto& item : v)
        if (item.type != GgufType::array) throw Error("gguf", "of_arrays: every item must be an array");
    GgufValue x;
    x.type = GgufType::array;
    x.elem_type = GgufType::array;
    x.count = v.size();
    x.items = std::move(v);
    return x;
}

namespace {

std::string quote_text(const std::string& s, size_t max_chars) {
    std::string out = "\"";
    for (size_t k = 0; k < s.size() && k < max_chars; ++k) {
        const auto c = static_cast<unsigned char>(s[k]);
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
        else if (c < 0x20 || c == 0x7f) { char b[8]; std::snprintf(b, sizeof b, "\\x%02x", c); out += b; }
        else out += static_cast<char>(c);
    }
    if (s.size() > max_chars) out += "...";
    return out + "\"";
}

// The shortest text that reads back as the same value at the stored width
// (so an f32 1e-5 prints as "1e-05", not "9.99999975e-06").
std::string float_text(double v, bool is_f32) {
    char b[40];
    for (int digits = 6; digits <= 17; ++digits) {
        std::snprintf(b, sizeof b, "%.*g", digits, v);
        const double back = std::strtod(b, nullptr);
        if (is_f32 ? static_cast<float>(back) == static_cast<float>(v) : back == v) break;
    }
    return b;
}

// The text of element k of a numeric array.
std::string packed_element_text(const GgufValue& a, size_t k) {
    const size_t sz = gguf_scalar_size(a.elem_type);
    const uint8_t* p = a.packed.data() + k * sz;
    auto get = [p](auto v) { std::memcpy(&v, p, sizeof v); return v; };
    switch (a.elem_type) {
        case GgufType::u8: return std::to_string(get(uint8_t{}));
        case GgufType::i8: return std::to_string(get(int8_t{}));
        case GgufType::u16: return std::to_string(get(uint16_t{}));
        case GgufType::i16: return std::to_string(get(int16_t{}));
        case GgufType::u32: return std::to_string(get(uint32_t{}));
        case GgufType::i32: return std::to_string(get(int32_t{}));
        case GgufType::u64: return std::to_string(get(uint64_t{}));
        case GgufType::i64: return std::to_string(get(int64_t{}));
        case GgufType::f32: return float_text(get(float{}), true);
        case GgufType::f64: return float_text(get(double{}), false);
        case GgufType::boolean: return get(uint8_t{}) ? "true" : "false";
        default: return "?";
    }
}

}  // namespace

std::string GgufValue::to_text(size_t max_items) const {
    switch (type) {
        case GgufType::u8: case GgufType::u16: case GgufType::u32: case GgufType::u64: return std::to_string(u);
        case GgufType::i8: case GgufType::i16: case GgufType::i32: case GgufType::i64: return std::to_string(i);
        case GgufType::f32: case GgufType::f64: return float_text(f, type == GgufType::f32);
        case GgufType::boolean: return u ? "true" : "false";
        case GgufType::string: return quote_text(s, 200);
        case GgufType::array: break;
    }
    if (count > max_items) {
        const std::string noun = elem_type == GgufType::string ? "strings"
                                 : elem_type == GgufType::array ? "arrays"
                                                                : gguf_type_name(elem_type);
        std::string summary = "[";  // built with += : GCC 12 warns falsely on chained operator+
        summary += std::to_string(count);
        summary += ' ';
        summary += noun;
        summary += ']';
        return summary;
    }
    std::string out = "[";
    for (size_t k = 0; k < count; ++k) {
        if (k) out += ", ";
        if (elem_type == GgufType::string) out += quote_text(strings[k], 40);
        else if (elem_type == GgufType::array) out += items[k].to_text(max_items);
        else out += packed_element_text(*this, k);
    }
    return out + "]";
}

bool GgufValue::operator==(const GgufValue& o) const {
    if (type != o.type) return false;
    switch (type) {
        case GgufType::string: return s == o.s;
        case GgufType::array:
            return elem_type == o.elem_type && count == o.count && packed == o.packed && strings == o.strings &&
                   items == o.items;
        case GgufType::f32: case GgufType::f64:
            return f == o.f || (std::isnan(f) && std::isnan(o.f));
        default: return u == o.u && i == o.i;
    }
}

const GgufValue* find_metadata(const GgufMetadata& md, const std::string& key) {
    for (const auto& [k, v] : md)
        if (k == key) return &v;
    return nullptr;
}

// ggml ids come from the storage type table (core/storage_types.h).
std::optional<DType> dtype_from_ggml_type(uint32_t ggml_type) {
    if (const StorageType* s = storage_type_by_ggml(ggml_type)) return s->dtype;
    return std::nullopt;
}

std::optional<uint32_t> ggml_type_from_dtype(DType t) { return dtype_info(t).ggml_type; }

std::optional<uint32_t> llama_file_type_from_dtype(DType t) { return dtype_info(t).llama_ftype; }

}  // namespace tern::io
