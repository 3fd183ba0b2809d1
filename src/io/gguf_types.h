#pragma once
// GGUF metadata values and the ggml tensor type ids, shared by the reader and
// the writer. Layout facts follow the published GGUF spec (v2/v3, little-endian).
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"

namespace tern::io {

// Value type tags exactly as stored in the file.
enum class GgufType : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
    string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
constexpr uint32_t kGgufTypeCount = 13;

const char* gguf_type_name(GgufType t);
// Bytes of one scalar of type t in the file; 0 for string and array (variable).
size_t gguf_scalar_size(GgufType t);

// One metadata value. Scalars keep their exact bits widened into u/i/f; numeric
// arrays keep their packed little-endian bytes (compact even for 100k-entry
// vocab score arrays); string arrays and nested arrays keep their items.
struct GgufValue {
    GgufType type = GgufType::u8;
    uint64_t u = 0;     // u8..u64, bool
    int64_t i = 0;      // i8..i64
    double f = 0;       // f32, f64
    std::string s;      // string
    GgufType elem_type = GgufType::u8;  // arrays only
    uint64_t count = 0;                 // arrays only: number of elements
    std::vector<uint8_t> packed;        // numeric/bool arrays: count * scalar size bytes
    std::vector<std::string> strings;   // string arrays
    std::vector<GgufValue> items;       // arrays of arrays

    static GgufValue scalar_u(GgufType t, uint64_t v);
    static GgufValue scalar_i(GgufType t, int64_t v);
    static GgufValue scalar_f(GgufType t, double v);
    static GgufValue of_u8(uint8_t v) { return scalar_u(GgufType::u8, v); }
    static GgufValue of_u16(uint16_t v) { return scalar_u(GgufType::u16, v); }
    static GgufValue of_u32(uint32_t v) { return scalar_u(GgufType::u32, v); }
    static GgufValue of_u64(uint64_t v) { return scalar_u(GgufType::u64, v); }
    static GgufValue of_i8(int8_t v) { return scalar_i(GgufType::i8, v); }
    static GgufValue of_i16(int16_t v) { return scalar_i(GgufType::i16, v); }
    static GgufValue of_i32(int32_t v) { return scalar_i(GgufType::i32, v); }
    static GgufValue of_i64(int64_t v) { return scalar_i(GgufType::i64, v); }
    static GgufValue of_f32(float v) { return scalar_f(GgufType::f32, v); }
    static GgufValue of_f64(double v) { return scalar_f(GgufType::f64, v); }
    static GgufValue of_bool(bool v) { return scalar_u(GgufType::boolean, v ? 1 : 0); }
    static GgufValue of_string(std::string v);
    static GgufValue of_strings(std::vector<std::string> v);
    static GgufValue of_arrays(std::vector<GgufValue> v);  // every item must be an array
    // A numeric array from C++ values; elem picks the file type (e.g. i32 for int32_t).
    template <class T>
    static GgufValue of_array(GgufType elem, const std::vector<T>& v) {
        GgufValue a;
        a.type = GgufType::array;
        a.elem_type = elem;
        a.count = v.size();
        a.packed.resize(v.size() * sizeof(T));
        if (!v.empty()) std::memcpy(a.packed.data(), v.data(), a.packed.size());
        return a;
    }

    // Elements of a numeric array reinterpreted as T (sizeof(T) must match the element size).
    template <class T>
    std::vector<T> array_as() const {
        std::vector<T> out(packed.size() / sizeof(T));
        if (!out.empty()) std::memcpy(out.data(), packed.data(), out.size() * sizeof(T));
        return out;
    }

    // Human-readable text; arrays longer than `max_items` are summarised ("[32000 strings]").
    std::string to_text(size_t max_items = 8) const;

    bool operator==(const GgufValue& o) const;
};

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

const GgufValue* find_metadata(const GgufMetadata& md, const std::string& key);

// ggml tensor type id <-> tern dtype (core/storage_types.h). Ids from
// kTernPrivateGgmlTypes up are tern's own block types: llama.cpp cannot load them.
std::optional<DType> dtype_from_ggml_type(uint32_t ggml_type);
std::optional<uint32_t> ggml_type_from_dtype(DType t);
// llama.cpp's general.file_type for a file whose 2-D weights all have type t.
std::optional<uint32_t> llama_file_type_from_dtype(DType t);

constexpr uint32_t kGgufDefaultAlignment = 32;
constexpr uint32_t kGgufMaxDims = 4;

}  // namespace tern::io
