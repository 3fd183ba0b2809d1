#include "nn/modules/binary_layer.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/json_out.h"
#include "kernels/bitserial/bitserial.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/ops_binary.h"

namespace tern::nn {
namespace {

bool known_method(const std::string& m) { return m == "bwn" || m == "xnor" || m == "twn" || m == "ttq"; }

Tensor scalar(float v) {
    Tensor t = Tensor::empty({1});
    t.data<float>()[0] = v;
    return t;
}

// Mean |w| over the codes of one sign: TTQ's starting wp / wn (the TWN alpha of that side).
float mean_over_codes(const Tensor& w, const std::vector<int8_t>& codes, int8_t sign) {
    double s = 0;
    int64_t n = 0;
    for (size_t i = 0; i < codes.size(); ++i)
        if (codes[i] == sign) {
            s += std::fabs(w.data<float>()[i]);
            ++n;
        }
    return n > 0 ? static_cast<float>(s / static_cast<double>(n)) : 1e-3f;
}

}  // namespace

bool is_ternary_method(const std::string& method) { return method == "twn" || method == "ttq"; }

float default_binary_threshold(const std::string& method) {
    return method == "twn" ? 0.7f : method == "ttq" ? 0.05f : 0.0f;
}

std::string binary_spec_json(const BinarySpec& s) {
    return Json{{"method", s.method}, {"threshold", s.threshold}, {"keep_first_last", s.keep_first_last}, {"layers", s.layers}}
        .dump();
}

BinarySpec parse_binary_spec(const std::string& text, const std::string& where) {
    const Json j = Json::parse(text, nullptr, false);
    auto bad = [&](const std::string& what) { throw InputError(where, "bad tern.binary metadata: " + what); };
    if (!j.is_object()) bad("not a JSON object");
    BinarySpec s;
    bool has_layers = false;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string k = it.key();
        if (k == "method") {
            if (!it->is_string() || !known_method(it->get<std::string>())) bad("method must be bwn, xnor, twn or ttq");
            s.method = it->get<std::string>();
        } else if (k == "threshold") {
            if (!it->is_number()) bad("threshold must be a number");
            s.threshold = it->get<float>();
        } else if (k == "keep_first_last") {
            if (!it->is_boolean()) bad("keep_first_last must be true or false");
            s.keep_first_last = it->get<bool>();
        } else if (k == "layers") {
            if (!it->is_array() || it->empty()) bad("layers must be a non-empty array of layer names");
            for (const Json& n : *it) {
                if (!n.is_string()) bad("layers must be a non-empty array of layer names");
                s.layers.push_back(n.get<std::string>());
            }
            has_layers = true;
        } else {
            bad("unknown key '" + k + "'");
        }
    }
    if (!j.contains("method")) bad("no method");
    if (!has_layers) bad("no layers");
    if (is_ternary_method(s.method) && !(s.threshold > 0 && s.threshold < (s.method == "ttq" ? 1.0f : 1.5f)))
        bad("threshold " + std::to_string(s.threshold) + " out of range for " + s.method);
    return s;
}

LayerBinarize::LayerBinarize(const BinarySpec& spec, const Tensor& w) : method(spec.method), threshold(spec.threshold) {
    this->spec.method = spec.method;
    if (!known_method(method)) throw Error("binarize", "unknown method '" + method + "'");
    if (method == "ttq") {
        std::vector<int8_t> codes(static_cast<size_t>(w.numel()));
        ttq_codes(w.data<float>(), w.numel(), threshold, codes.data());
        wp = register_parameter("wp", scalar(mean_over_codes(w, codes, 1)));
        wn = register_parameter("wn", scalar(mean_over_codes(w, codes, -1)));
    }
}

Var LayerBinarize::weight(const Var& w) {
    if (method == "bwn" || method == "xnor") return binarize_weight(w);
    if (method == "twn") return ternarize_twn(w, threshold);
    return ternarize_ttq(w, wp, wn, threshold);
}

Var LayerBinarize::input(const Var& x) { return method == "xnor" ? binarize_input(x) : x; }

std::optional<Var> LayerBinarize::linear(const Var& x, const Var& w, const Var& bias) {
    if (method != "xnor" || !use_bitserial || is_training() || x.rank() != 2 || any_requires_grad({&x, &w, &bias}))
        return std::nullopt;
    const Tensor xv = x.value().contiguous(), wv = w.value().contiguous();
    const int64_t m = xv.dim(0), n = wv.dim(0), k = wv.dim(1), words = bit_words(k);
    if (xv.dim(1) != k) return std::nullopt;  // linear() reports the mismatch
    // Rows of x centred (as binarize_input) -> signs and beta; rows of w -> signs and alpha.
    std::vector<uint64_t> a_bits(static_cast<size_t>(m * words)), b_bits(static_cast<size_t>(n * words));
    std::vector<float> beta(static_cast<size_t>(m)), alpha(static_cast<size_t>(n)), row(static_cast<size_t>(k));
    for (int64_t i = 0; i < m; ++i) {
        const float* p = xv.data<float>() + i * k;
        double mean = 0, abs_sum = 0;
        for (int64_t j = 0; j < k; ++j) mean += p[j];
        const float mu = static_cast<float>(mean / static_cast<double>(k));
        for (int64_t j = 0; j < k; ++j) {
            row[static_cast<size_t>(j)] = p[j] - mu;
            abs_sum += std::fabs(row[static_cast<size_t>(j)]);
        }
        beta[static_cast<size_t>(i)] = static_cast<float>(abs_sum / static_cast<double>(k));
        pack_sign_bits(row.data(), k, a_bits.data() + i * words);
    }
    for (int64_t j = 0; j < n; ++j) {
        const float* p = wv.data<float>() + j * k;
        double abs_sum = 0;
        for (int64_t i = 0; i < k; ++i) abs_sum += std::fabs(p[i]);
        alpha[static_cast<size_t>(j)] = static_cast<float>(abs_sum / static_cast<double>(k));
        pack_sign_bits(p, k, b_bits.data() + j * words);
    }
    std::vector<int32_t> dots(static_cast<size_t>(m * n));
    BitGemmArgs args;
    args.m = m, args.n = n, args.k = k;
    args.a = a_bits.data(), args.b = b_bits.data(), args.c = dots.data();
    bit_gemm_binary(args);
    Tensor y = Tensor::empty({m, n});
    float* py = y.data<float>();
    const float* pb = bias.defined() ? bias.data() : nullptr;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
            py[i * n + j] = static_cast<float>(dots[static_cast<size_t>(i * n + j)]) * beta[static_cast<size_t>(i)] *
                                alpha[static_cast<size_t>(j)] +
                            (pb ? pb[j] : 0.0f);
    return Var(y);
}

void attach_binarizers(Module& model, BinarySpec& spec, const std::string& where) {
    std::vector<std::pair<std::string, Module*>> layers;
    visit_modules(model, [&](const std::string& name, Module& m) {
        if (dynamic_cast<Conv2d*>(&m) || dynamic_cast<Linear*>(&m)) layers.emplace_back(name, &m);
        if (dynamic_cast<LayerFakeQuant*>(&m)) throw Error("binarize", "the model already has quantizers");
    });
    std::vector<std::pair<std::string, Module*>> chosen;
    if (!spec.layers.empty()) {
        std::set<std::string> seen;
        for (const std::string& name : spec.layers) {
            auto it = std::find_if(layers.begin(), layers.end(), [&](const auto& l) { return l.first == name; });
            if (it == layers.end()) throw InputError(where, "tern.binary names layer '" + name + "', not a Conv2d / Linear of the model");
            if (!seen.insert(name).second) throw InputError(where, "tern.binary names layer '" + name + "' twice");
            chosen.push_back(*it);
        }
    } else {
        const size_t skip = spec.keep_first_last ? 1 : 0;
        for (size_t i = skip; i + skip < layers.size(); ++i) chosen.push_back(layers[i]);
        for (const auto& l : chosen) spec.layers.push_back(l.first);
    }
    if (chosen.empty()) throw InputError(where, "the model has no Conv2d / Linear layer left to binarize");
    for (const auto& [name, m] : chosen) {
        if (auto* c = dynamic_cast<Conv2d*>(m))
            c->attach_fake_quant(std::make_shared<LayerBinarize>(spec, c->weight.value()));
        else if (auto* l = dynamic_cast<Linear*>(m))
            l->attach_fake_quant(std::make_shared<LayerBinarize>(spec, l->weight.value()));
    }
}

std::vector<std::pair<std::string, LayerBinarize*>> binary_layers(Module& model) {
    std::vector<std::pair<std::string, LayerBinarize*>> out;
    visit_modules(model, [&](const std::string& name, Module& m) {
        if (auto* q = dynamic_cast<LayerBinarize*>(&m)) out.emplace_back(name.substr(0, name.rfind('.')), q);
    });
    return out;
}

}  // namespace tern::nn
