#include "nn/train/binary_file.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "nn/ops_binary.h"

namespace tern::nn::train {
namespace {

struct Geometry {
    int64_t rows = 0, inner = 0;
};

Geometry geometry_of(const Shape& s) {
    Geometry g;
    g.rows = s.empty() ? 0 : s[0];
    g.inner = g.rows > 0 ? shape_numel(s) / g.rows : 0;
    return g;
}

Tensor f32_rows(const std::vector<float>& v) { return Tensor::from_floats({static_cast<int64_t>(v.size())}, v); }

// Packed bytes per row: 8 binary or 4 ternary weights per byte.
int64_t row_bytes(int64_t inner, bool ternary) { return ternary ? (inner + 3) / 4 : (inner + 7) / 8; }

std::vector<NamedTensor> pack_layer(const std::string& layer, const Tensor& w_in, const BinarySpec& spec) {
    const Tensor w = w_in.contiguous();
    const Geometry g = geometry_of(w.shape());
    const bool ternary = is_ternary_method(spec.method);
    const int64_t rb = row_bytes(g.inner, ternary);
    Tensor packed = Tensor::empty({g.rows, rb}, DType::u8);
    uint8_t* out = packed.data<uint8_t>();
    std::fill_n(out, g.rows * rb, uint8_t{0});
    const float* p = w.data<float>();
    std::vector<float> alpha(static_cast<size_t>(g.rows));
    std::vector<NamedTensor> res;
    if (!ternary) {
        for (int64_t c = 0; c < g.rows; ++c) {
            double s = 0;
            for (int64_t i = 0; i < g.inner; ++i) {
                const float v = p[c * g.inner + i];
                s += std::fabs(v);
                if (v >= 0) out[c * rb + i / 8] |= static_cast<uint8_t>(1u << (i % 8));
            }
            alpha[static_cast<size_t>(c)] = static_cast<float>(s / static_cast<double>(g.inner));
        }
        res.push_back({layer + ".weight.bits", packed});
        res.push_back({layer + ".weight.alpha", f32_rows(alpha)});
        return res;
    }
    std::vector<int8_t> codes(static_cast<size_t>(w.numel()));
    if (spec.method == "twn")
        twn_codes(p, g.rows, g.inner, spec.threshold, codes.data(), alpha.data());
    else
        ttq_codes(p, w.numel(), spec.threshold, codes.data());
    for (int64_t c = 0; c < g.rows; ++c)
        for (int64_t i = 0; i < g.inner; ++i) {
            const int8_t code = codes[static_cast<size_t>(c * g.inner + i)];
            const unsigned bits = code > 0 ? 1u : code < 0 ? 3u : 0u;
            out[c * rb + i / 4] |= static_cast<uint8_t>(bits << (2 * (i % 4)));
        }
    res.push_back({layer + ".weight.codes", packed});
    if (spec.method == "twn") res.push_back({layer + ".weight.alpha", f32_rows(alpha)});
    return res;
}

const Tensor& take(std::map<std::string, const Tensor*>& have, const std::string& name, DType dtype, const Shape& shape,
                   const std::string& where) {
    auto it = have.find(name);
    if (it == have.end()) throw InputError(where, "packed tensor '" + name + "' is missing (tern.binary names its layer)");
    const Tensor& t = *it->second;
    if (t.dtype() != dtype)
        throw InputError(where, "packed tensor '" + name + "' is " + std::string(dtype_name(t.dtype())) + ", expected " +
                                    std::string(dtype_name(dtype)));
    if (t.shape() != shape)
        throw InputError(where, "packed tensor '" + name + "' has shape " + shape_to_string(t.shape()) + ", expected " +
                                    shape_to_string(shape));
    have.erase(it);
    return t;
}

}  // namespace

std::vector<NamedTensor> pack_binary_tensors(std::vector<NamedTensor> state, const BinarySpec& spec) {
    std::vector<NamedTensor> out;
    for (auto& t : state) {
        const std::string suffix = ".weight";
        const bool is_weight = t.name.size() > suffix.size() && t.name.ends_with(suffix);
        const std::string layer = is_weight ? t.name.substr(0, t.name.size() - suffix.size()) : "";
        if (is_weight && std::find(spec.layers.begin(), spec.layers.end(), layer) != spec.layers.end()) {
            for (auto& p : pack_layer(layer, t.tensor, spec)) out.push_back(std::move(p));
        } else {
            out.push_back(std::move(t));
        }
    }
    return out;
}

std::vector<NamedTensor> unpack_binary_tensors(const std::vector<NamedTensor>& tensors, const BinarySpec& spec,
                                                   Module& model, const std::string& where) {
    std::map<std::string, const Tensor*> have;
    for (const auto& t : tensors) have[t.name] = &t.tensor;
    std::map<std::string, Shape> weight_shape;
    for (const auto& [name, v] : model.named_parameters()) weight_shape[name] = v.shape();
    const bool ternary = is_ternary_method(spec.method);
    std::vector<NamedTensor> out;
    for (const std::string& layer : spec.layers) {
        auto ws = weight_shape.find(layer + ".weight");
        if (ws == weight_shape.end()) throw InputError(where, "tern.binary names layer '" + layer + "', which has no weight");
        if (have.count(layer + ".weight"))
            throw InputError(where, "tensor '" + layer + ".weight' is stored unpacked, but tern.binary says it is packed");
        const Geometry g = geometry_of(ws->second);
        const int64_t rb = row_bytes(g.inner, ternary);
        const std::string packed_name = layer + (ternary ? ".weight.codes" : ".weight.bits");
        const Tensor packed = take(have, packed_name, DType::u8, {g.rows, rb}, where).contiguous();
        std::vector<float> alpha(static_cast<size_t>(g.rows), 1.0f);
        if (spec.method != "ttq") {
            const Tensor a = take(have, layer + ".weight.alpha", DType::f32, {g.rows}, where).contiguous();
            for (int64_t c = 0; c < g.rows; ++c) {
                const float v = a.data<float>()[c];
                if (!std::isfinite(v) || v < 0)
                    throw InputError(where, format("tensor '%s.weight.alpha' element %lld is %g; scales must be finite and >= 0",
                                                   layer.c_str(), static_cast<long long>(c), v));
                alpha[static_cast<size_t>(c)] = v;
            }
        }
        Tensor w = Tensor::empty(ws->second);
        float* pw = w.data<float>();
        const uint8_t* pb = packed.data<uint8_t>();
        for (int64_t c = 0; c < g.rows; ++c)
            for (int64_t i = 0; i < g.inner; ++i) {
                const float a = alpha[static_cast<size_t>(c)];
                if (!ternary) {
                    pw[c * g.inner + i] = (pb[c * rb + i / 8] >> (i % 8)) & 1u ? a : -a;
                    continue;
                }
                const unsigned code = (pb[c * rb + i / 4] >> (2 * (i % 4))) & 3u;
                if (code == 2)
                    throw InputError(where, format("packed tensor '%s' row %lld weight %lld holds code 2 (only 0, 1 = +, 3 = -)",
                                                   packed_name.c_str(), static_cast<long long>(c), static_cast<long long>(i)));
                pw[c * g.inner + i] = code == 1 ? a : code == 3 ? -a : 0.0f;
            }
        out.push_back({layer + ".weight", w});
    }
    for (const auto& [name, t] : have) out.push_back({name, *t});
    return out;
}

}  // namespace tern::nn::train
