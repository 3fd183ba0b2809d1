#include "nn/modules/fake_quant.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/json_out.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/modules/norm.h"

namespace tern::nn {
namespace {

constexpr float kMinScale = 1e-8f;
constexpr float kObserverMomentum = 0.01f;  // PyTorch's MovingAverageMinMaxObserver averaging constant
constexpr int64_t kRecordPerBatch = 8192, kRecordMost = 65536;

// The step whose round-to-grid of v[0..n) has the least squared error, over
// clips of 2 % .. 100 % of the largest magnitude (a clipped grid resolves the
// bulk of a long-tailed distribution better than max / qmax does).
float mse_optimal_scale(const float* v, int64_t n, QuantGrid g) {
    float amax = 0;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(v[i]));
    if (!(amax > 0)) return kMinScale;
    const float lo = static_cast<float>(g.qmin), hi = static_cast<float>(g.qmax);
    float best = amax / hi;
    double best_err = -1;
    for (int k = 50; k >= 1; --k) {
        const float s = amax * (0.02f * static_cast<float>(k)) / hi;
        double err = 0;
        for (int64_t i = 0; i < n; ++i) {
            const float d = std::nearbyint(std::fmin(std::fmax(v[i] / s, lo), hi)) * s - v[i];
            err += static_cast<double>(d) * d;
        }
        if (best_err < 0 || err < best_err) {
            best_err = err;
            best = s;
        }
    }
    return std::max(best, kMinScale);
}

Tensor fq_filled(const Shape& shape, float v) {
    Tensor t = Tensor::empty(shape);
    std::fill_n(t.data<float>(), t.numel(), v);
    return t;
}

bool is_quantizable(Module& m) { return dynamic_cast<Conv2d*>(&m) || dynamic_cast<Linear*>(&m); }

}  // namespace

std::string fake_quant_spec_json(const FakeQuantSpec& s) {
    Json j{{"method", s.method}, {"weight_bits", s.weight_bits}, {"act_bits", s.act_bits}, {"per_channel", s.per_channel}};
    if (s.fold_bn) j["fold_bn"] = true;  // absent in files written before folding existed
    return j.dump();
}

FakeQuantSpec parse_fake_quant_spec(const std::string& text, const std::string& where) {
    const Json j = Json::parse(text, nullptr, false);
    auto bad = [&](const std::string& what) { throw InputError(where, "bad tern.qat metadata: " + what); };
    if (!j.is_object()) bad("not a JSON object");
    FakeQuantSpec s;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string k = it.key();
        if (k == "method") {
            if (!it->is_string()) bad("method must be a string");
            s.method = it->get<std::string>();
            if (s.method != "ste" && s.method != "lsq" && s.method != "pact") bad("unknown method '" + s.method + "'");
        } else if (k == "weight_bits" || k == "act_bits") {
            if (!it->is_number_integer() || it->get<int64_t>() < 2 || it->get<int64_t>() > 8)
                bad(k + " must be an integer in [2, 8]");
            (k == "weight_bits" ? s.weight_bits : s.act_bits) = static_cast<int>(it->get<int64_t>());
        } else if (k == "per_channel" || k == "fold_bn") {
            if (!it->is_boolean()) bad(k + " must be true or false");
            (k == "per_channel" ? s.per_channel : s.fold_bn) = it->get<bool>();
        } else {
            bad("unknown key '" + k + "'");
        }
    }
    return s;
}

LayerFakeQuant::LayerFakeQuant(const FakeQuantSpec& s, int64_t out_channels) : spec(s) {
    quant_grid(spec.weight_bits, true);  // range checks
    quant_grid(spec.act_bits, false);
    if (spec.method == "lsq") {
        weight_scale = register_parameter("weight_scale", fq_filled({spec.per_channel ? out_channels : 1}, 1.0f));
        act_scale = register_parameter("act_scale", fq_filled({1}, 1.0f));
    } else if (spec.method == "pact") {
        act_alpha = register_parameter("act_alpha", fq_filled({1}, 6.0f));
    } else if (spec.method == "ste") {
        act_range = fq_filled({2}, 0.0f);
        register_buffer("act_range", act_range);
    } else {
        throw Error("fake_quant", "unknown method '" + spec.method + "'");
    }
    act_signed = fq_filled({1}, 0.0f);
    register_buffer("act_signed", act_signed);
}

Tensor LayerFakeQuant::ste_weight_scale(const Tensor& w) const {
    const int64_t channels = spec.per_channel ? w.dim(0) : 1, inner = w.numel() / channels;
    const float qmax = static_cast<float>(quant_grid(spec.weight_bits, true).qmax);
    Tensor s = Tensor::empty({channels});
    const float* p = w.data<float>();
    for (int64_t c = 0; c < channels; ++c) {
        float amax = 0;
        for (int64_t i = 0; i < inner; ++i) amax = std::max(amax, std::fabs(p[c * inner + i]));
        s.data<float>()[c] = std::max(amax / qmax, kMinScale);
    }
    return s;
}

Var LayerFakeQuant::weight(const Var& w) {
    if (calibrating) return w;
    const QuantGrid g = quant_grid(spec.weight_bits, true);
    if (spec.method == "lsq") {
        const double per_scale = static_cast<double>(w.numel() / weight_scale.numel());
        return fake_quant_lsq(w, weight_scale, g, static_cast<float>(1.0 / std::sqrt(per_scale * static_cast<double>(g.qmax))));
    }
    const Tensor s = ste_weight_scale(w.value());
    return fake_quant_ste(w, s, fq_filled({s.numel()}, 0.0f), g);
}

Var LayerFakeQuant::input(const Var& x) {
    if (calibrating) {
        const int64_t n = x.numel(), room = kRecordMost - static_cast<int64_t>(recorded.size());
        const int64_t take = std::min({n, kRecordPerBatch, room});
        const float* p = x.data();
        for (int64_t k = 0; k < take; ++k) recorded.push_back(p[k * n / take]);
        return x;
    }
    const bool is_signed = act_signed.data<float>()[0] > 0.5f;
    const QuantGrid g = quant_grid(spec.act_bits, is_signed);
    if (spec.method == "lsq") {
        const double features = static_cast<double>(x.numel() / std::max<int64_t>(1, x.dim(0)));
        return fake_quant_lsq(x, act_scale, g, static_cast<float>(1.0 / std::sqrt(features * static_cast<double>(g.qmax))));
    }
    if (spec.method == "pact") return fake_quant_pact(x, act_alpha, spec.act_bits, is_signed);
    // ste: asymmetric unsigned grid over the observed [min, max] (zero inside it).
    float* range = act_range.data<float>();
    if (is_training()) {
        const float* p = x.data();
        const auto [mn, mx] = std::minmax_element(p, p + x.numel());
        range[0] += kObserverMomentum * (*mn - range[0]);
        range[1] += kObserverMomentum * (*mx - range[1]);
    }
    const QuantGrid ug = quant_grid(spec.act_bits, false);
    const float lo = std::min(range[0], 0.0f), hi = std::max(range[1], 0.0f);
    const float scale = std::max((hi - lo) / static_cast<float>(ug.qmax), kMinScale);
    const float zp = std::fmin(std::fmax(std::nearbyint(-lo / scale), 0.0f), static_cast<float>(ug.qmax));
    return fake_quant_ste(x, fq_filled({1}, scale), fq_filled({1}, zp), ug);
}

std::vector<float> LayerFakeQuant::bn_factor() const {
    if (!folded_bn) throw Error("fake_quant", "no BatchNorm is folded into this layer");
    const BatchNorm2d& bn = *folded_bn;
    std::vector<float> f(static_cast<size_t>(bn.weight.numel()));
    for (size_t c = 0; c < f.size(); ++c) {
        // As nn's batch_norm in eval mode: gamma * (1 / sqrt(var + eps)); a zero gamma keeps a
        // tiny factor so the division after the conv stays finite.
        const float v = bn.weight.data()[c] * (1.0f / std::sqrt(bn.running_var.data<float>()[c] + bn.eps));
        f[c] = std::fabs(v) < 1e-12f ? (v < 0 ? -1e-12f : 1e-12f) : v;
    }
    return f;
}

Tensor LayerFakeQuant::folded_weight(const Tensor& w) const {
    Tensor out = w.contiguous().clone();
    if (!folded_bn) return out;
    const std::vector<float> f = bn_factor();
    if (static_cast<int64_t>(f.size()) != w.dim(0)) throw Error("fake_quant", "folded BatchNorm does not match the conv's output channels");
    const int64_t inner = w.numel() / w.dim(0);
    for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] *= f[static_cast<size_t>(i / inner)];
    return out;
}

std::optional<Var> LayerFakeQuant::conv(const Var& x, const Var& w, const Var& b, const Conv2dParams& p) {
    if (!folded_bn) return std::nullopt;
    const std::vector<float> f = bn_factor();
    const int64_t o = static_cast<int64_t>(f.size());
    std::vector<float> inv(f.size());
    for (size_t c = 0; c < f.size(); ++c) inv[c] = 1.0f / f[c];
    const Var scale_w(Tensor::from_floats({o, 1, 1, 1}, f)), unscale_y(Tensor::from_floats({1, o, 1, 1}, inv));
    Var y = mul(conv2d(input(x), weight(mul(w, scale_w)), Var(), p), unscale_y);
    if (b.defined()) y = add(y, reshape(b, {1, o, 1, 1}));
    return y;
}

Tensor LayerFakeQuant::weight_steps(const Tensor& w) const {
    if (spec.method == "lsq") return weight_scale.value().clone();
    return ste_weight_scale(w);
}

LayerFakeQuant::InputGrid LayerFakeQuant::input_grid() const {
    InputGrid out;
    out.is_signed = act_signed.data<float>()[0] > 0.5f;
    const QuantGrid g = quant_grid(spec.act_bits, out.is_signed);
    out.code_min = static_cast<int32_t>(g.qmin);
    out.code_max = static_cast<int32_t>(g.qmax);
    if (spec.method == "lsq") {
        out.scale = act_scale.data()[0];
    } else if (spec.method == "pact") {
        // clamp(x, lo, alpha) on the grid alpha / qmax: the signed grid is symmetric (-qmax .. qmax).
        out.scale = act_alpha.data()[0] / static_cast<float>(g.qmax);
        if (out.is_signed) out.code_min = -out.code_max;
    } else {
        // ste: the asymmetric unsigned grid input() builds from the observed range.
        const QuantGrid ug = quant_grid(spec.act_bits, false);
        const float* range = act_range.data<float>();
        const float lo = std::min(range[0], 0.0f), hi = std::max(range[1], 0.0f);
        out.scale = std::max((hi - lo) / static_cast<float>(ug.qmax), kMinScale);
        out.zero_point = static_cast<int32_t>(std::fmin(std::fmax(std::nearbyint(-lo / out.scale), 0.0f), static_cast<float>(ug.qmax)));
        out.is_signed = false;
        out.code_min = 0;
        out.code_max = static_cast<int32_t>(ug.qmax);
    }
    return out;
}

void LayerFakeQuant::init_weight_scale(const Tensor& w) {
    if (spec.method != "lsq") return;  // ste / pact weights take max |w| every forward
    const int64_t channels = weight_scale.numel(), inner = w.numel() / channels;
    const QuantGrid g = quant_grid(spec.weight_bits, true);
    for (int64_t c = 0; c < channels; ++c)
        weight_scale.data()[c] = mse_optimal_scale(w.data<float>() + c * inner, inner, g);
}

void LayerFakeQuant::finish_calibration(const std::string& layer) {
    calibrating = false;
    if (recorded.empty()) throw InputError(layer, "calibration saw no inputs of this layer");
    for (float v : recorded)
        if (!std::isfinite(v)) throw InputError(layer, "calibration inputs of this layer hold NaN or Inf");
    const auto [mn, mx] = std::minmax_element(recorded.begin(), recorded.end());
    const bool is_signed = *mn < 0;
    act_signed.data<float>()[0] = is_signed ? 1.0f : 0.0f;
    const QuantGrid g = quant_grid(spec.act_bits, is_signed);
    const float s = mse_optimal_scale(recorded.data(), static_cast<int64_t>(recorded.size()), g);
    if (spec.method == "lsq") act_scale.data()[0] = s;
    if (spec.method == "pact") act_alpha.data()[0] = s * static_cast<float>(g.qmax);
    if (spec.method == "ste") {
        act_range.data<float>()[0] = *mn;
        act_range.data<float>()[1] = *mx;
    }
    recorded.clear();
    recorded.shrink_to_fit();
}

void visit_modules(Module& model, const std::function<void(const std::string&, Module&)>& fn) {
    std::function<void(const std::string&, Module&)> walk = [&](const std::string& name, Module& m) {
        fn(name, m);
        for (const auto& [child, c] : m.children()) walk(name.empty() ? child : name + "." + child, *c);
    };
    walk("", model);
}

int64_t attach_fake_quant(Module& model, const FakeQuantSpec& spec) {
    std::vector<Module*> layers;
    visit_modules(model, [&](const std::string&, Module& m) {
        if (is_quantizable(m)) layers.push_back(&m);
        if (dynamic_cast<LayerFakeQuant*>(&m)) throw Error("fake_quant", "the model already has fake quantizers");
    });
    if (layers.empty()) throw Error("fake_quant", "the model has no Conv2d or Linear layer to quantize");
    for (Module* m : layers) {
        if (auto* c = dynamic_cast<Conv2d*>(m))
            c->attach_fake_quant(std::make_shared<LayerFakeQuant>(spec, c->weight.dim(0)));
        else if (auto* l = dynamic_cast<Linear*>(m))
            l->attach_fake_quant(std::make_shared<LayerFakeQuant>(spec, l->weight.dim(0)));
    }
    return static_cast<int64_t>(layers.size());
}

void check_fake_quant_scales(Module& model, const std::string& where) {
    for (const auto& [layer, q] : fake_quant_layers(model))
        for (const auto& [name, v] : q->named_parameters())
            for (int64_t i = 0; i < v.numel(); ++i)
                if (!(v.data()[i] > 0) || !std::isfinite(v.data()[i]))
                    throw InputError(where, format("tensor '%s.qat.%s' element %lld is %g; QAT scales must be finite and > 0",
                                                   layer.c_str(), name.c_str(), static_cast<long long>(i), v.data()[i]));
}

int64_t keep_scales_positive(Module& model, float floor) {
    int64_t raised = 0;
    for (const auto& [layer, q] : fake_quant_layers(model))
        for (auto& [name, v] : q->named_parameters()) {
            float* p = v.data();
            for (int64_t i = 0; i < v.numel(); ++i)
                if (p[i] < floor) {  // NaN is left for check_fake_quant_scales to name
                    p[i] = floor;
                    ++raised;
                }
        }
    return raised;
}

std::vector<std::pair<std::string, LayerFakeQuant*>> fake_quant_layers(Module& model) {
    std::vector<std::pair<std::string, LayerFakeQuant*>> out;
    visit_modules(model, [&](const std::string& name, Module& m) {
        if (auto* q = dynamic_cast<LayerFakeQuant*>(&m)) out.emplace_back(name.substr(0, name.rfind('.')), q);
    });
    return out;
}

}  // namespace tern::nn
