#include "io/shared_weights.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/huffman.h"

namespace tern::io {
namespace {

// Fixed-width packing, most significant bit first (the Huffman streams' order).
std::vector<uint8_t> pack_fixed(std::span<const uint32_t> symbols, int width) {
    std::vector<uint8_t> out((symbols.size() * static_cast<size_t>(width) + 7) / 8, 0);
    uint64_t bit = 0;
    for (uint32_t s : symbols)
        for (int i = width - 1; i >= 0; --i, ++bit)
            if ((s >> i) & 1u) out[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
    return out;
}

std::vector<uint32_t> unpack_fixed(std::span<const uint8_t> bytes, int width, uint64_t count, const std::string& where) {
    if (count > uint64_t{bytes.size()} * 8 / static_cast<uint64_t>(width))
        throw InputError(where, "stream of " + std::to_string(bytes.size()) + " bytes cannot hold " + std::to_string(count) +
                                    " codes of " + std::to_string(width) + " bits (truncated)");
    std::vector<uint32_t> out(count, 0);
    uint64_t bit = 0;
    for (auto& s : out)
        for (int i = 0; i < width; ++i, ++bit) s = (s << 1) | ((bytes[bit / 8] >> (7 - bit % 8)) & 1u);
    return out;
}

Tensor u8_tensor(std::span<const uint8_t> bytes) {
    Tensor t = Tensor::zeros({static_cast<int64_t>(bytes.size())}, DType::u8);
    if (!bytes.empty()) std::memcpy(t.raw_data(), bytes.data(), bytes.size());
    return t;
}

struct Stream {
    std::vector<uint8_t> bytes, lengths;  // lengths: Huffman only
};

Stream code_stream(std::span<const uint32_t> symbols, size_t alphabet, int width, bool huffman) {
    Stream s;
    if (!huffman) {
        s.bytes = pack_fixed(symbols, width);
        return s;
    }
    std::vector<uint64_t> counts(alphabet, 0);
    for (uint32_t v : symbols) ++counts[v];
    s.lengths = huffman_code_lengths(counts);
    s.bytes = huffman_encode(symbols, s.lengths);
    return s;
}

void add_stream(EncodedSharedWeight& e, const std::string& part, const std::string& lengths_part, const Stream& s) {
    e.tensors.push_back({e.spec.name + part, u8_tensor(s.bytes)});
    if (!s.lengths.empty()) e.tensors.push_back({e.spec.name + lengths_part, u8_tensor(s.lengths)});
}

}  // namespace

uint64_t EncodedSharedWeight::bytes() const {
    uint64_t b = 0;
    for (const auto& t : tensors) b += t.tensor.nbytes();
    return b;
}

EncodedSharedWeight encode_shared_weight(const std::string& name, const Shape& shape, std::span<const float> codebook,
                                         std::span<const int32_t> assignment, int bits, int index_bits, bool huffman) {
    if (bits < 1 || bits > 16 || index_bits < 0 || index_bits > 16 || codebook.empty() ||
        codebook.size() > (size_t{1} << bits) || static_cast<int64_t>(assignment.size()) != shape_numel(shape))
        throw Error(name, "encode_shared_weight: bad arguments");
    EncodedSharedWeight e;
    e.spec = {name, shape, bits, index_bits, huffman, 0, 0};
    std::vector<uint32_t> codes, gaps;
    const uint32_t filler = index_bits > 0 ? (uint32_t{1} << index_bits) - 1 : 0;
    uint32_t run = 0;
    for (int32_t a : assignment) {
        if (a >= static_cast<int32_t>(codebook.size())) throw Error(name, "encode_shared_weight: index past the codebook");
        if (a < 0) {
            if (index_bits == 0) throw Error(name, "encode_shared_weight: a dense tensor needs a code for every weight");
            if (++run == filler) {
                gaps.push_back(filler);
                run = 0;
            }
            continue;
        }
        if (index_bits > 0) gaps.push_back(run);
        run = 0;
        codes.push_back(static_cast<uint32_t>(a));
    }
    e.spec.weights = static_cast<int64_t>(codes.size());
    e.spec.gaps = static_cast<int64_t>(gaps.size());
    e.tensors.push_back({name + ".codebook", Tensor::from_floats({static_cast<int64_t>(codebook.size())}, codebook)});
    add_stream(e, ".codes", ".code_lengths", code_stream(codes, codebook.size(), bits, huffman));
    if (index_bits > 0) add_stream(e, ".gaps", ".gap_lengths", code_stream(gaps, size_t{1} << index_bits, index_bits, huffman));
    return e;
}

std::string shared_weights_metadata(const std::vector<SharedWeightSpec>& specs) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& s : specs) {
        nlohmann::ordered_json j{{"name", s.name}, {"shape", s.shape},   {"bits", s.bits},
                                 {"index_bits", s.index_bits}, {"huffman", s.huffman}, {"weights", s.weights}};
        if (s.index_bits > 0) j["gaps"] = s.gaps;
        list.push_back(j);
    }
    return nlohmann::ordered_json{{"method", "kmeans"}, {"tensors", list}}.dump();
}

namespace {

SharedWeightSpec parse_spec(const nlohmann::json& j, const std::string& where, const ExpectedShape& expected) {
    auto bad = [&](const std::string& what) { throw InputError(where, std::string(kCompressionKey) + " metadata: " + what); };
    if (!j.is_object()) bad("each entry of 'tensors' must be an object");
    auto integer = [&](const char* key, int64_t lo, int64_t hi, bool required) -> int64_t {
        if (!j.contains(key)) {
            if (required) bad(std::string("an entry lacks '") + key + "'");
            return 0;
        }
        const auto& v = j.at(key);
        if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
            bad("'" + (j.contains("name") && j.at("name").is_string() ? j.at("name").get<std::string>() : "?") + "': '" + key +
                "' must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
        return v.get<int64_t>();
    };
    SharedWeightSpec s;
    if (!j.contains("name") || !j.at("name").is_string()) bad("an entry lacks its 'name'");
    s.name = j.at("name").get<std::string>();
    if (!j.contains("shape") || !j.at("shape").is_array() || j.at("shape").empty() || j.at("shape").size() > 8)
        bad("'" + s.name + "': 'shape' must be a list of 1 to 8 dimensions");
    int64_t numel = 1;
    for (const auto& d : j.at("shape")) {
        if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > (int64_t{1} << 31))
            bad("'" + s.name + "': 'shape' dimensions must be integers in [1, 2^31]");
        s.shape.push_back(d.get<int64_t>());
        numel *= d.get<int64_t>();
        if (numel > (int64_t{1} << 31)) bad("'" + s.name + "': more than 2^31 elements");
    }
    // The model's shape first: counts are then checked against a size the model really has.
    const Shape* want = expected(s.name);
    if (!want) throw InputError(where, "shared tensor '" + s.name + "' is not a tensor of this model");
    if (*want != s.shape)
        throw InputError(where, "shared tensor '" + s.name + "' has shape " + shape_to_string(s.shape) +
                                    " but the model's is " + shape_to_string(*want));
    s.bits = static_cast<int>(integer("bits", 1, 16, true));
    s.index_bits = static_cast<int>(integer("index_bits", 0, 16, false));
    if (j.contains("huffman")) {
        if (!j.at("huffman").is_boolean()) bad("'" + s.name + "': 'huffman' must be true or false");
        s.huffman = j.at("huffman").get<bool>();
    }
    s.weights = integer("weights", 0, numel, true);
    if (s.index_bits == 0 && s.weights != numel)
        bad("'" + s.name + "': a dense tensor of shape " + shape_to_string(s.shape) + " stores " + std::to_string(numel) +
            " codes, not " + std::to_string(s.weights));
    if (s.index_bits > 0) s.gaps = integer("gaps", s.weights, numel, true);
    return s;
}

struct Parts {
    std::map<std::string, size_t> index;  // tensor name -> position
    std::vector<NamedTensor>& tensors;
    const std::string& where;

    std::span<const uint8_t> u8(const std::string& name, std::vector<size_t>& used) const {
        auto it = index.find(name);
        if (it == index.end()) throw InputError(where, "shared tensor part '" + name + "' is missing");
        const Tensor& t = tensors[it->second].tensor;
        if (t.dtype() != DType::u8 || t.rank() != 1) throw InputError(where, "'" + name + "' must be a 1-D U8 tensor");
        used.push_back(it->second);
        return {t.data<uint8_t>(), static_cast<size_t>(t.numel())};
    }
};

std::vector<uint32_t> read_stream(const Parts& p, const std::string& part, const std::string& lengths_part, size_t alphabet,
                                  int width, bool huffman, uint64_t count, std::vector<size_t>& used) {
    const auto bytes = p.u8(part, used);
    const std::string where = p.where + ": '" + part + "'";
    if (!huffman) return unpack_fixed(bytes, width, count, where);
    const auto lengths = p.u8(lengths_part, used);
    if (lengths.size() != alphabet)
        throw InputError(p.where, "'" + lengths_part + "' has " + std::to_string(lengths.size()) + " code lengths for " +
                                      std::to_string(alphabet) + " symbols");
    return huffman_decode(bytes, lengths, count, where);
}

Tensor decode_one(const SharedWeightSpec& s, const Parts& p, std::vector<size_t>& used) {
    auto it = p.index.find(s.name + ".codebook");
    if (it == p.index.end()) throw InputError(p.where, "shared tensor part '" + s.name + ".codebook' is missing");
    const Tensor& cb = p.tensors[it->second].tensor;
    if (cb.dtype() != DType::f32 || cb.rank() != 1 || cb.numel() < 1 || cb.numel() > (int64_t{1} << s.bits))
        throw InputError(p.where, "'" + s.name + ".codebook' must be a 1-D F32 tensor of 1 to 2^" + std::to_string(s.bits) +
                                      " values");
    used.push_back(it->second);
    const std::vector<float> codebook = cb.to_floats();
    const size_t k = codebook.size();
    const auto codes = read_stream(p, s.name + ".codes", s.name + ".code_lengths", k, s.bits, s.huffman,
                                   static_cast<uint64_t>(s.weights), used);
    for (uint32_t c : codes)
        if (c >= k)
            throw InputError(p.where, "'" + s.name + ".codes' holds code " + std::to_string(c) + " past its codebook of " +
                                          std::to_string(k));
    Tensor out = Tensor::zeros(s.shape, DType::f32);
    float* w = out.data<float>();
    const int64_t numel = out.numel();
    if (s.index_bits == 0) {
        for (int64_t i = 0; i < numel; ++i) w[i] = codebook[codes[i]];
        return out;
    }
    const uint32_t filler = (uint32_t{1} << s.index_bits) - 1;
    const auto gaps = read_stream(p, s.name + ".gaps", s.name + ".gap_lengths", size_t{1} << s.index_bits, s.index_bits,
                                  s.huffman, static_cast<uint64_t>(s.gaps), used);
    int64_t pos = 0;
    size_t next = 0;
    for (uint32_t g : gaps) {
        pos += g;
        if (g == filler) continue;
        if (pos >= numel || next >= codes.size())
            throw InputError(p.where, "'" + s.name + ".gaps' places weight " + std::to_string(next + 1) + " past the " +
                                          std::to_string(numel) + " elements of shape " + shape_to_string(s.shape) +
                                          " or past its " + std::to_string(codes.size()) + " codes");
        w[pos++] = codebook[codes[next++]];
    }
    if (pos > numel || next != codes.size())
        throw InputError(p.where, "'" + s.name + ".gaps' places " + std::to_string(next) + " of " +
                                      std::to_string(codes.size()) + " weights within shape " + shape_to_string(s.shape));
    return out;
}

}  // namespace

void decode_shared_weights(std::vector<NamedTensor>& tensors, const std::string& metadata_value, const std::string& where,
                           const ExpectedShape& expected) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(metadata_value);
    } catch (const nlohmann::json::exception&) {
        throw InputError(where, std::string(kCompressionKey) + " metadata is not valid JSON");
    }
    if (!j.is_object() || j.value("method", "") != "kmeans" || !j.contains("tensors") || !j.at("tensors").is_array())
        throw InputError(where, std::string(kCompressionKey) + " metadata must be {\"method\": \"kmeans\", \"tensors\": [...]}");
    Parts p{{}, tensors, where};
    for (size_t i = 0; i < tensors.size(); ++i) p.index[tensors[i].name] = i;
    std::vector<size_t> used;
    std::vector<NamedTensor> decoded;
    for (const auto& entry : j.at("tensors")) {
        const SharedWeightSpec s = parse_spec(entry, where, expected);
        if (p.index.count(s.name)) throw InputError(where, "'" + s.name + "' is stored both plainly and as a shared tensor");
        for (const auto& d : decoded)
            if (d.name == s.name) throw InputError(where, "'" + s.name + "' is listed twice in " + kCompressionKey);
        decoded.push_back({s.name, decode_one(s, p, used)});
    }
    // Parts not consumed (a Huffman table of a fixed stream, a stray gaps) are left for the model's own check.
    std::sort(used.begin(), used.end());
    std::vector<NamedTensor> out;
    for (size_t i = 0; i < tensors.size(); ++i)
        if (!std::binary_search(used.begin(), used.end(), i)) out.push_back(tensors[i]);
    for (auto& d : decoded) out.push_back(std::move(d));
    tensors = std::move(out);
}

}  // namespace tern::io
