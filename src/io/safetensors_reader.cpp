#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "io/byte_cursor.h"
#include "io/safetensors.h"

namespace tern::io {
namespace {

using nlohmann::json;

struct DTypeName {
    const char* name;
    DType dtype;
};
constexpr std::array<DTypeName, 12> kDTypeNames{{
    {"F64", DType::f64}, {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16},
    {"I64", DType::i64}, {"I32", DType::i32}, {"I16", DType::i16}, {"I8", DType::i8},
    {"U8", DType::u8}, {"BOOL", DType::boolean}, {"F8_E4M3", DType::fp8_e4m3}, {"F8_E5M2", DType::fp8_e5m2},
}};

// The schema is at most three levels deep ({name: {shape: [..]}}); deeper
// input is refused rather than built into a large tree.
constexpr int kMaxJsonDepth = 3;
// Far above any real model's rank; keeps a hostile shape list short.
constexpr size_t kSafetensorsMaxRank = 16;

json parse_header_json(std::string_view text, const std::string& where) {
    std::set<std::string> names;
    std::string duplicate;
    bool too_deep = false;
    // nlohmann keeps the last of duplicate keys silently; a second tensor of the same name is corruption.
    auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::key && depth == 1 && duplicate.empty() &&
            !names.insert(parsed.get<std::string>()).second)
            duplicate = parsed.get<std::string>();
        if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
            depth >= kMaxJsonDepth) {
            too_deep = true;
            return false;
        }
        return true;
    };
    json j;
    try {
        j = json::parse(text.begin(), text.end(), on_event);
    } catch (const json::exception& e) {
        throw InputError(where, std::string("header is not valid JSON: ") + e.what());
    }
    if (too_deep) throw InputError(where, "header JSON is nested deeper than the format allows");
    if (!duplicate.empty()) throw InputError(where, "duplicate tensor name '" + duplicate + "' in header");
    if (!j.is_object()) throw InputError(where, "header JSON is not an object");
    return j;
}

uint64_t read_unsigned(const json& v, const std::string& where, const std::string& what) {
    if (!v.is_number_unsigned()) throw InputError(where, what + " must be a non-negative integer");
    return v.get<uint64_t>();
}

SafetensorsTensorInfo parse_entry(const std::string& name, const json& e, uint64_t buffer_bytes,
                                  const std::string& where) {
    const std::string ctx = "tensor '" + name + "': ";
    if (!e.is_object()) throw InputError(where, ctx + "entry is not an object");
    SafetensorsTensorInfo t;
    t.name = name;
    const auto dt = e.find("dtype");
    const auto sh = e.find("shape");
    const auto off = e.find("data_offsets");
    if (dt == e.end() || !dt->is_string()) throw InputError(where, ctx + "missing string \"dtype\"");
    if (sh == e.end() || !sh->is_array()) throw InputError(where, ctx + "missing array \"shape\"");
    if (off == e.end() || !off->is_array() || off->size() != 2)
        throw InputError(where, ctx + "\"data_offsets\" must be [begin, end]");
    t.dtype_name = dt->get<std::string>();
    const auto dtype = dtype_from_safetensors_name(t.dtype_name);
    if (!dtype) throw InputError(where, ctx + "unsupported dtype '" + t.dtype_name + "'");
    t.dtype = *dtype;
    if (sh->size() > kSafetensorsMaxRank) throw InputError(where, ctx + format("rank %zu exceeds %zu", sh->size(), kSafetensorsMaxRank));
    uint64_t numel = 1;
    // Overflow is judged on the non-zero dims, so no order of multiplication overflows later.
    uint64_t nonzero_product = 1;
    for (const auto& d : *sh) {
        const uint64_t n = read_unsigned(d, where, ctx + "shape entry");
        if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
            (n != 0 && (!checked_mul(nonzero_product, n, &nonzero_product) ||
                        nonzero_product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))))
            throw InputError(where, ctx + "shape overflows 64 bits");
        numel *= n;
        t.shape.push_back(static_cast<int64_t>(n));
    }
    t.begin = read_unsigned((*off)[0], where, ctx + "data_offsets[0]");
    t.end = read_unsigned((*off)[1], where, ctx + "data_offsets[1]");
    if (t.begin > t.end)
        throw InputError(where, ctx + format("data_offsets [%llu, %llu] run backwards",
                                             static_cast<unsigned long long>(t.begin),
                                             static_cast<unsigned long long>(t.end)));
    if (t.end > buffer_bytes)
        throw InputError(where, ctx + format("data ends at buffer byte %llu but the buffer has %llu",
                                             static_cast<unsigned long long>(t.end),
                                             static_cast<unsigned long long>(buffer_bytes)));
    uint64_t expect = 0;
    if (!checked_mul(numel, dtype_info(t.dtype).block_bytes, &expect))
        throw InputError(where, ctx + "byte size of shape " + shape_to_string(t.shape) + " overflows 64 bits");
    if (expect != t.end - t.begin)
        throw InputError(where, ctx + format("%llu bytes stored but shape %s of %s needs %llu",
                                             static_cast<unsigned long long>(t.end - t.begin),
                                             shape_to_string(t.shape).c_str(), t.dtype_name.c_str(),
                                             static_cast<unsigned long long>(expect)));
    return t;
}

}  // namespace

std::optional<DType> dtype_from_safetensors_name(const std::string& name) {
    for (const auto& d : kDTypeNames)
        if (name == d.name) return d.dtype;
    return std::nullopt;
}

std::optional<std::string> safetensors_name_from_dtype(DType t) {
    for (const auto& d : kDTypeNames)
        if (d.dtype == t) return std::string(d.name);
    return std::nullopt;
}

bool looks_like_safetensors(std::span<const uint8_t> bytes) {
    if (bytes.size() < 9) return false;
    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    return n >= 2 && n <= kSafetensorsMaxHeaderBytes && n <= bytes.size() - 8 && bytes[8] == '{';
}

SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& where) {
    ByteCursor in(bytes, where);
    SafetensorsFile f;
    f.file_bytes = bytes.size();
    f.header_bytes = in.read<uint64_t>("header length");
    if (f.header_bytes > kSafetensorsMaxHeaderBytes)
        throw InputError(where, format("header length %llu exceeds the %llu-byte limit",
                                       static_cast<unsigned long long>(f.header_bytes),
                                       static_cast<unsigned long long>(kSafetensorsMaxHeaderBytes)));
    if (f.header_bytes > in.remaining())
        throw InputError(where, format("header length %llu but only %zu bytes follow",
                                       static_cast<unsigned long long>(f.header_bytes), in.remaining()));
    const std::string_view text = in.read_bytes(f.header_bytes, "header");
    if (text.empty() || text.front() != '{') throw InputError(where, "header does not start with '{'");
    f.data_offset = 8 + f.header_bytes;
    const uint64_t buffer_bytes = f.file_bytes - f.data_offset;

    const json header = parse_header_json(text, where);
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__") {
            if (!value.is_object()) throw InputError(where, "__metadata__ must be an object of strings");
            for (const auto& [mk, mv] : value.items()) {
                if (!mv.is_string()) throw InputError(where, "__metadata__ value '" + mk + "' is not a string");
                f.metadata.emplace_back(mk, mv.get<std::string>());
            }
            continue;
        }
        SafetensorsTensorInfo t = parse_entry(key, value, buffer_bytes, where);
        t.file_offset = f.data_offset + t.begin;
        f.tensors.push_back(std::move(t));
    }
    std::sort(f.tensors.begin(), f.tensors.end(), [](const auto& a, const auto& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const SafetensorsTensorInfo* prev = nullptr;
    for (const auto& t : f.tensors) {
        if (t.begin == t.end) continue;  // empty tensors occupy no bytes
        if (prev && prev->end > t.begin)
            throw InputError(where, "tensor '" + t.name + "': data overlaps tensor '" + prev->name + "'");
        prev = &t;
    }
    return f;
}

SafetensorsModel read_safetensors(const std::string& path) {
    SafetensorsModel m;
    auto file = MappedFile::open(path);
    SafetensorsFile info = parse_safetensors(std::span<const uint8_t>(file->data(), file->size()), path);
    for (const auto& t : info.tensors) {
        Tensor view = Tensor::view_of_file(file, t.file_offset, t.shape, t.dtype);
        // safetensors only promises byte offsets: a tensor whose data is not
        // aligned to its element size is copied into aligned memory, so every
        // consumer may read it through a typed pointer (zero-copy otherwise).
        if (t.file_offset % dtype_info(t.dtype).block_bytes != 0) view = view.clone();
        m.tensors.push_back({t.name, view});
    }
    m.paths.push_back(path);
    m.files.push_back(std::move(file));
    m.infos.push_back(std::move(info));
    return m;
}

}  // namespace tern::io
