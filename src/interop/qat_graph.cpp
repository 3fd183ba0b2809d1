// QAT classifier -> integer-only QDQ graph (qat_graph.h). Starts from the fp32
// graph of classifier_graph (node names are the module paths, which is how a
// Conv / Gemm node finds its quantizer), then rewrites it in one pass in
// topological order.
#include "interop/qat_graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/error.h"
#include "graph/passes.h"
#include "graph/shape_inference.h"
#include "interop/classifier_graph.h"
#include "nn/autograd.h"
#include "nn/modules/fake_quant.h"

namespace tern::interop {
namespace {

using graph::Attribute;
using graph::Graph;
using graph::Node;
using InputGrid = nn::LayerFakeQuant::InputGrid;

using graph::int_attr;

Tensor f32_vector(const std::vector<float>& v) { return Tensor::from_floats({static_cast<int64_t>(v.size())}, v); }

Tensor code_scalar(int32_t v, bool is_signed) {
    Tensor t = Tensor::empty({}, is_signed ? DType::i8 : DType::u8);
    if (is_signed) t.data<int8_t>()[0] = static_cast<int8_t>(v);
    else t.data<uint8_t>()[0] = static_cast<uint8_t>(v);
    return t;
}

// ONNX QuantizeLinear of one value onto `g` (round half to even, the container's saturation, then the grid).
int32_t quantize_on(float v, const InputGrid& g) {
    const float q = std::nearbyint(v / g.scale) + static_cast<float>(g.zero_point);
    return static_cast<int32_t>(std::clamp(q, static_cast<float>(g.code_min), static_cast<float>(g.code_max)));
}

bool same_grid(const InputGrid& a, const InputGrid& b) {
    return a.scale == b.scale && a.zero_point == b.zero_point && a.code_min == b.code_min && a.code_max == b.code_max &&
           a.is_signed == b.is_signed;
}

// One quantized Conv / Gemm after BatchNorm folding.
struct Layer {
    size_t node = 0;
    nn::LayerFakeQuant* q = nullptr;
    Tensor codes;                 // i8, the weight's shape (Gemm: (N, K), transB)
    std::vector<float> steps;     // per output channel, BN factor folded in (> 0)
    std::vector<double> bias;     // per output channel, folded; empty: none
    InputGrid in;                 // the layer's input grid
    std::string out;              // the float value it produces after folding (BN's output when folded)
    // Set when the output reaches the next quantized layer through monotone ops only.
    bool fused = false;
    InputGrid target;
    int32_t clip_lo = 0, clip_hi = 0;  // codes after the Relu / Clip in the chain
    std::vector<size_t> chain;         // MaxPool / Flatten nodes re-run on the codes
    std::set<size_t> absorbed;         // Relu / Clip nodes the code clip performs
    std::string chain_end;             // the value the next layer reads
    size_t next = 0;                   // that layer's node
};

class QatRewriter {
public:
    QatRewriter(Graph g, nn::Module& model, std::string where) : g_(std::move(g)), where_(std::move(where)) {
        for (const auto& [name, q] : nn::fake_quant_layers(model)) quantizers_[name] = q;
        for (size_t i = 0; i < g_.nodes.size(); ++i)
            for (const auto& in : g_.nodes[i].inputs)
                if (!in.empty()) readers_[in].push_back(i);
    }

    Graph run(QatGraphReport& report) {
        order_ = g_.topological_order();
        for (size_t i : order_) {
            const Node& n = g_.nodes[i];
            if (n.op_type == "Conv" || n.op_type == "Gemm") prepare_layer(i, report);
        }
        for (auto& [i, l] : layers_) find_chain(l);
        std::vector<Node> out;
        for (size_t i : order_) {
            if (skipped_.count(i)) continue;
            if (auto it = layers_.find(i); it != layers_.end()) {
                emit_layer(it->second, out);
                ++(it->second.fused ? report.qdq_layers : report.integer_layers);
            } else {
                out.push_back(g_.nodes[i]);
            }
        }
        g_.nodes = std::move(out);
        const Shape input_shape = *g_.values.at(g_.inputs[0]).shape;
        g_.values.clear();
        g_.values[g_.inputs[0]] = {input_shape, DType::f32};
        g_ = graph::eliminate_dead_nodes(std::move(g_));
        for (const auto& [name, t] : g_.initializers) g_.values[name] = {t.shape(), t.dtype()};
        graph::infer_shapes(g_);
        return std::move(g_);
    }

private:
    const Tensor& init(const Node& n, size_t i) {
        auto it = g_.initializers.find(n.inputs.at(i));
        if (it == g_.initializers.end()) throw InputError(where_, "node '" + n.name + "' input " + std::to_string(i) + " is not a constant");
        return it->second;
    }
    const std::vector<size_t>& readers(const std::string& v) {
        static const std::vector<size_t> none;
        auto it = readers_.find(v);
        return it == readers_.end() ? none : it->second;
    }
    bool is_graph_output(const std::string& v) const {
        return std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end();
    }

    // Codes and steps from the quantizer itself (weight() is what the fake-quant forward multiplies by),
    // then a following BatchNormalization folded in.
    void prepare_layer(size_t i, QatGraphReport& report) {
        const Node& n = g_.nodes[i];
        auto qit = quantizers_.find(n.name);
        if (qit == quantizers_.end()) throw InputError(where_, "layer '" + n.name + "' has no fake quantizer; a QAT model quantizes every Conv2d and Linear");
        Layer l;
        l.node = i;
        l.q = qit->second;
        l.in = l.q->input_grid();
        report.weight_bits = l.q->spec.weight_bits;
        report.act_bits = l.q->spec.act_bits;
        // With fold_bn the quantizer rounds w * gamma / sigma: those codes are the deployed ones.
        const Tensor w = l.q->folded_weight(init(n, 1));
        const int64_t channels = w.dim(0), inner = w.numel() / channels;
        Tensor wq;
        {
            nn::NoGradGuard no_grad;
            wq = l.q->weight(nn::Var(w)).value().contiguous();
        }
        const Tensor steps = l.q->weight_steps(w).contiguous();
        const nn::QuantGrid grid = nn::quant_grid(l.q->spec.weight_bits, true);
        l.codes = Tensor::empty(w.shape(), DType::i8);
        l.steps.resize(static_cast<size_t>(channels));
        for (int64_t c = 0; c < channels; ++c) {
            const float s = steps.data<float>()[steps.numel() == 1 ? 0 : c];
            l.steps[static_cast<size_t>(c)] = s;
            for (int64_t k = 0; k < inner; ++k) {
                const float v = wq.data<float>()[c * inner + k];
                const float code = std::nearbyint(v / s);
                if (!(code >= static_cast<float>(grid.qmin) && code <= static_cast<float>(grid.qmax)) || code * s != v)
                    throw InputError(where_, format("layer '%s' weight element %lld (%g) is not a code of its %d-bit grid (step %g)",
                                                    n.name.c_str(), static_cast<long long>(c * inner + k), v,
                                                    l.q->spec.weight_bits, s));
                l.codes.data<int8_t>()[c * inner + k] = static_cast<int8_t>(code);
            }
        }
        if (n.has_input(2)) {
            const Tensor b = init(n, 2).contiguous();
            l.bias.assign(b.data<float>(), b.data<float>() + b.numel());
        }
        l.out = n.outputs[0];
        const auto& r = readers(l.out);
        const bool bn_next = r.size() == 1 && g_.nodes[r[0]].op_type == "BatchNormalization" && !is_graph_output(l.out);
        if (l.q->folded_bn && !bn_next)
            throw InputError(where_, "layer '" + n.name + "' was trained with a folded BatchNorm the graph does not have");
        if (bn_next) {
            fold_batch_norm(l, g_.nodes[r[0]], inner, report);
            skipped_.insert(r[0]);
            l.out = g_.nodes[r[0]].outputs[0];
        }
        layers_[i] = std::move(l);
    }

    // conv(x, s q) gamma / sigma + beta - mu gamma / sigma = conv(x, (s gamma / sigma) q) + bias',
    // a negative gamma / sigma moving its sign onto the codes (steps stay positive). A layer
    // trained with the BatchNorm folded (fold_bn) computed conv(x, s q) / a + b before it: only
    // the bias changes.
    void fold_batch_norm(Layer& l, const Node& bn, int64_t inner, QatGraphReport& report) {
        const Tensor gamma = init(bn, 1).contiguous(), beta = init(bn, 2).contiguous();
        const Tensor mean = init(bn, 3).contiguous(), var = init(bn, 4).contiguous();
        const float eps = bn.attr_float("epsilon", 1e-5f);
        const size_t channels = l.steps.size();
        if (l.bias.empty()) l.bias.assign(channels, 0.0);
        for (size_t c = 0; c < channels; ++c) {
            // The factor as nn's batch_norm computes it in eval mode (float rstd).
            const float rstd = 1.0f / std::sqrt(var.data<float>()[c] + eps);
            const double a = static_cast<double>(gamma.data<float>()[c]) * rstd;
            l.bias[c] = (l.bias[c] - mean.data<float>()[c]) * a + beta.data<float>()[c];
            if (l.q->folded_bn) continue;  // trained on w * a: codes and steps already carry the factor
            int8_t* codes = l.codes.data<int8_t>() + c * static_cast<size_t>(inner);
            if (a == 0) {  // the channel is its bias alone
                std::fill_n(codes, inner, int8_t{0});
                continue;
            }
            l.steps[c] = static_cast<float>(l.steps[c] * std::fabs(a));
            if (a > 0) continue;
            ++report.negated_channels;
            for (int64_t k = 0; k < inner; ++k) {
                if (codes[k] == -128)
                    throw InputError(where_, format("layer '%s' channel %zu: code -128 under a negative BatchNorm factor is +128, "
                                                    "which an int8 container cannot hold", g_.nodes[l.node].name.c_str(), c));
                codes[k] = static_cast<int8_t>(-codes[k]);
            }
        }
        ++report.folded_batch_norms;
    }

    // Follows the layer's output through Relu / Clip / MaxPool / Flatten to the
    // one quantized layer reading it; any other reader keeps the output float.
    void find_chain(Layer& l) {
        std::string cur = l.out;
        std::vector<std::pair<float, float>> clips;
        std::vector<size_t> moves, absorbed;
        for (;;) {
            const auto& r = readers(cur);
            if (is_graph_output(cur) || r.size() != 1) return;
            const Node& n = g_.nodes[r[0]];
            if (auto it = layers_.find(r[0]); it != layers_.end()) {
                if (n.inputs[0] != cur) return;
                l.fused = true;
                l.target = it->second.in;
                l.clip_lo = l.target.code_min;
                l.clip_hi = l.target.code_max;
                for (const auto& [lo, hi] : clips) {
                    l.clip_lo = std::max(l.clip_lo, quantize_on(lo, l.target));
                    l.clip_hi = std::min(l.clip_hi, quantize_on(hi, l.target));
                }
                l.chain = moves;
                l.absorbed.insert(absorbed.begin(), absorbed.end());
                skipped_.insert(moves.begin(), moves.end());
                skipped_.insert(absorbed.begin(), absorbed.end());
                l.chain_end = cur;
                l.next = r[0];
                return;
            }
            if (n.outputs.size() != 1 || n.inputs.empty() || n.inputs[0] != cur) return;
            if (n.op_type == "Relu") {
                clips.emplace_back(0.0f, std::numeric_limits<float>::infinity());
                absorbed.push_back(r[0]);
            } else if (n.op_type == "Clip") {
                const float lo = n.has_input(1) ? scalar(n, 1) : -std::numeric_limits<float>::infinity();
                const float hi = n.has_input(2) ? scalar(n, 2) : std::numeric_limits<float>::infinity();
                if (std::isnan(lo) || std::isnan(hi)) return;
                clips.emplace_back(lo, hi);
                absorbed.push_back(r[0]);
            } else if ((n.op_type == "MaxPool" && n.outputs.size() == 1) || n.op_type == "Flatten") {
                moves.push_back(r[0]);
            } else {
                return;
            }
            cur = n.outputs[0];
        }
    }
    float scalar(const Node& n, size_t i) {
        auto it = g_.initializers.find(n.inputs[i]);
        if (it == g_.initializers.end() || it->second.numel() != 1) return std::numeric_limits<float>::quiet_NaN();
        return it->second.to_floats()[0];
    }

    // The codes of `value` on `g` for layer `reader`: those a fused producer wrote, else a QuantizeLinear here.
    std::string codes_of(const std::string& value, size_t reader, const InputGrid& g, std::vector<Node>& out) {
        if (auto it = codes_.find({value, reader}); it != codes_.end()) return it->second;
        for (const auto& [key, q] : float_codes_)
            if (key == value && same_grid(q.first, g)) return q.second;
        const std::string base = value + "_q" + std::to_string(float_codes_.size());
        g_.initializers[base + "_scale"] = Tensor::from_floats({}, std::vector<float>{g.scale});
        g_.initializers[base + "_zero_point"] = code_scalar(g.zero_point, g.is_signed);
        out.push_back({"QuantizeLinear", base + "_QuantizeLinear", {value, base + "_scale", base + "_zero_point"}, {base}, {}});
        const std::string codes = clip_codes(base, g, g.code_min, g.code_max, out);
        float_codes_.emplace_back(value, std::make_pair(g, codes));
        return codes;
    }

    // A Clip of the codes when [lo, hi] is narrower than the container.
    std::string clip_codes(const std::string& codes, const InputGrid& g, int32_t lo, int32_t hi, std::vector<Node>& out) {
        const int32_t cmin = g.is_signed ? -128 : 0, cmax = g.is_signed ? 127 : 255;
        if (lo <= cmin && hi >= cmax) return codes;
        g_.initializers[codes + "_min"] = code_scalar(lo, g.is_signed);
        g_.initializers[codes + "_max"] = code_scalar(std::max(lo, hi), g.is_signed);
        out.push_back({"Clip", codes + "_Clip", {codes, codes + "_min", codes + "_max"}, {codes + "_clipped"}, {}});
        return codes + "_clipped";
    }

    void emit_layer(Layer& l, std::vector<Node>& out) {
        const Node n = g_.nodes[l.node];
        const bool conv = n.op_type == "Conv";
        const std::string x = codes_of(n.inputs[0], l.node, l.in, out);
        const int64_t channels = static_cast<int64_t>(l.steps.size());
        std::vector<float> bias_steps(l.steps.size());
        for (size_t c = 0; c < l.steps.size(); ++c) bias_steps[c] = l.in.scale * l.steps[c];
        Tensor bias = Tensor::empty({channels}, DType::i32);
        for (size_t c = 0; c < l.bias.size(); ++c) {
            const double q = std::nearbyint(l.bias[c] / bias_steps[c]);
            bias.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(q, -2147483647.0, 2147483647.0));
        }
        const std::string base = n.name;
        if (l.fused) {
            // DQ(x) -> Conv / Gemm(DQ(w), DQ(bias)) -> Q, what qdq_fuse makes a QLinearConv.
            g_.initializers[base + "_x_scale"] = Tensor::from_floats({}, std::vector<float>{l.in.scale});
            g_.initializers[base + "_x_zero_point"] = code_scalar(l.in.zero_point, l.in.is_signed);
            out.push_back({"DequantizeLinear", base + "_x_DequantizeLinear", {x, base + "_x_scale", base + "_x_zero_point"},
                           {base + "_x"}, {}});
            g_.initializers[base + "_W_quantized"] = l.codes;
            g_.initializers[base + "_W_scale"] = f32_vector(l.steps);
            g_.initializers[base + "_W_zero_point"] = Tensor::zeros({channels}, DType::i8);
            out.push_back({"DequantizeLinear", base + "_W_DequantizeLinear",
                           {base + "_W_quantized", base + "_W_scale", base + "_W_zero_point"}, {base + "_W"},
                           {{"axis", int_attr(0)}}});
            Node op = n;
            op.inputs = {base + "_x", base + "_W"};
            if (!l.bias.empty()) {
                g_.initializers[base + "_B_quantized"] = bias;
                g_.initializers[base + "_B_scale"] = f32_vector(bias_steps);
                out.push_back({"DequantizeLinear", base + "_B_DequantizeLinear", {base + "_B_quantized", base + "_B_scale"},
                               {base + "_B"}, {{"axis", int_attr(0)}}});
                op.inputs.push_back(base + "_B");
            }
            op.outputs = {base + "_y"};
            out.push_back(op);
            g_.initializers[base + "_y_scale"] = Tensor::from_floats({}, std::vector<float>{l.target.scale});
            g_.initializers[base + "_y_zero_point"] = code_scalar(l.target.zero_point, l.target.is_signed);
            out.push_back({"QuantizeLinear", base + "_y_QuantizeLinear", {base + "_y", base + "_y_scale", base + "_y_zero_point"},
                           {base + "_y_codes"}, {}});
            std::string codes = clip_codes(base + "_y_codes", l.target, l.clip_lo, l.clip_hi, out);
            for (size_t m : l.chain) {
                Node move = g_.nodes[m];
                move.inputs[0] = codes;
                codes = move.outputs[0] + "_codes";
                move.outputs = {codes};
                out.push_back(std::move(move));
            }
            codes_[{l.chain_end, l.next}] = codes;
            return;
        }
        // Integer MACs, int32 bias, then one DequantizeLinear per output channel: the float output.
        g_.initializers[base + "_x_zero_point"] = code_scalar(l.in.zero_point, l.in.is_signed);
        std::string acc = base + "_acc";
        if (conv) {
            g_.initializers[base + "_W_quantized"] = l.codes;
            Node op = n;
            op.op_type = "ConvInteger";
            op.inputs = {x, base + "_W_quantized", base + "_x_zero_point"};
            op.outputs = {acc};
            out.push_back(op);
        } else {  // Gemm with transB: MatMulInteger takes B as (K, N)
            const int64_t N = l.codes.dim(0), K = l.codes.dim(1);
            Tensor bt = Tensor::empty({K, N}, DType::i8);
            for (int64_t j = 0; j < N; ++j)
                for (int64_t k = 0; k < K; ++k) bt.data<int8_t>()[k * N + j] = l.codes.data<int8_t>()[j * K + k];
            g_.initializers[base + "_W_quantized"] = bt;
            out.push_back({"MatMulInteger", base, {x, base + "_W_quantized", base + "_x_zero_point"}, {acc}, {}});
        }
        if (!l.bias.empty()) {
            Tensor b = bias;
            if (conv) b = bias.reshape({channels, 1, 1});
            g_.initializers[base + "_B_quantized"] = b;
            out.push_back({"Add", base + "_bias", {acc, base + "_B_quantized"}, {acc + "_biased"}, {}});
            acc += "_biased";
        }
        g_.initializers[base + "_acc_scale"] = f32_vector(bias_steps);
        out.push_back({"DequantizeLinear", base + "_acc_DequantizeLinear", {acc, base + "_acc_scale"}, {l.out},
                       {{"axis", int_attr(1)}}});
    }

    Graph g_;
    std::string where_;
    std::map<std::string, nn::LayerFakeQuant*> quantizers_;
    std::map<std::string, std::vector<size_t>> readers_;
    std::vector<size_t> order_;
    std::map<size_t, Layer> layers_;
    std::set<size_t> skipped_;
    std::map<std::pair<std::string, size_t>, std::string> codes_;  // (value, reading layer) -> codes a fused producer writes
    std::vector<std::pair<std::string, std::pair<InputGrid, std::string>>> float_codes_;
};

}  // namespace

graph::Graph qat_classifier_graph(nn::UnaryModule& model, const std::string& model_name, int64_t channels,
                                  int64_t height, int64_t width, const std::string& where, QatGraphReport* report) {
    model.eval();
    QatGraphReport r;
    r.qat = true;
    Graph fp32 = classifier_graph(model, model_name, channels, height, width);
    Graph g = QatRewriter(std::move(fp32), model, where).run(r);
    g.opset = std::max<int64_t>(g.opset, 13);  // per-axis DequantizeLinear, Clip of integer codes
    if (report) *report = r;
    return g;
}

}  // namespace tern::interop
