#include "quant/graph_ptq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/error.h"
#include "graph/executor.h"
#include "graph/opset_upgrade.h"
#include "graph/passes.h"

namespace tern::quant {
namespace {

using graph::Graph;
using graph::Node;

// Ops that only move or select values: their output shares the input's
// quantization parameters, so DQ -> op -> Q runs on the codes.
const std::set<std::string> kPassThrough = {"Flatten", "Reshape", "MaxPool", "Transpose", "Squeeze", "Unsqueeze"};

const Tensor* initializer(const Graph& g, const std::string& name) {
    auto it = g.initializers.find(name);
    return it == g.initializers.end() ? nullptr : &it->second;
}

// The channel axis of a Conv / Gemm / MatMul's constant f32 weight, or nullopt when the op is not one to quantize.
std::optional<int64_t> weight_axis(const Graph& g, const Node& n) {
    if (n.inputs.size() < 2 || n.outputs.size() != 1) return std::nullopt;
    const Tensor* w = initializer(g, n.inputs[1]);
    if (!w || w->dtype() != DType::f32 || initializer(g, n.inputs[0])) return std::nullopt;
    if (n.op_type == "Conv" && w->rank() >= 3) return 0;
    if (n.op_type == "Gemm" && w->rank() == 2 && n.attr_int("transA", 0) == 0 && n.attr_float("alpha", 1.f) == 1.f &&
        n.attr_float("beta", 1.f) == 1.f)
        return n.attr_int("transB", 0) != 0 ? 0 : 1;
    if (n.op_type == "MatMul" && w->rank() == 2) return 1;
    return std::nullopt;
}

float scalar_of(const Graph& g, const Node& n, size_t i, float fallback) {
    if (!n.has_input(i)) return fallback;
    const Tensor* t = initializer(g, n.inputs[i]);
    if (!t || t->numel() != 1) return std::numeric_limits<float>::quiet_NaN();
    return t->to_floats()[0];
}

Tensor scalar_tensor(float v) { return Tensor::from_floats({}, std::span<const float>(&v, 1)); }

Tensor zero_point_tensor(int32_t z, const ActivationGrid& grid) {
    Tensor t = Tensor::empty({}, grid.is_unsigned ? DType::u8 : DType::i8);
    if (grid.is_unsigned) t.data<uint8_t>()[0] = static_cast<uint8_t>(z);
    else t.data<int8_t>()[0] = static_cast<int8_t>(z);
    return t;
}


// Which tensors get a Q -> DQ pair, each pointing at the tensor whose observer
// it shares (itself for the ones observed).
class ActivationPlan {
public:
    void add(const std::string& t) { parent_.emplace(t, t); }
    void link(const std::string& out, const std::string& in) {
        add(in);
        parent_[out] = in;
    }
    bool has(const std::string& t) const { return parent_.count(t) != 0; }
    std::string root(std::string t) const {
        for (auto it = parent_.find(t); it != parent_.end() && it->second != t; it = parent_.find(t)) t = it->second;
        return t;
    }
    bool linked(const std::string& out, const std::string& in) const {
        auto it = parent_.find(out);
        return it != parent_.end() && it->second == in;
    }
    const std::map<std::string, std::string>& all() const { return parent_; }

private:
    std::map<std::string, std::string> parent_;
};

// The tensor a linear op's output is quantized at: after a sole Relu / Clip(0, ...) reader.
std::string quantized_output(const Graph& g, const Node& n, const std::map<std::string, std::vector<size_t>>& readers) {
    const std::string& out = n.outputs[0];
    if (std::find(g.outputs.begin(), g.outputs.end(), out) != g.outputs.end()) return out;
    auto it = readers.find(out);
    if (it == readers.end() || it->second.size() != 1) return out;
    const Node& r = g.nodes[it->second[0]];
    if (r.outputs.size() != 1 || r.inputs.empty() || r.inputs[0] != out) return out;
    if (r.op_type == "Relu" || (r.op_type == "Clip" && scalar_of(g, r, 1, -1) == 0.f)) return r.outputs[0];
    return out;
}

void check_calibration_shape(const Graph& g, const Tensor& calib, const std::string& where) {
    if (g.inputs.size() != 1)
        throw InputError(where, format("the model takes %zu inputs; calibration feeds one image tensor", g.inputs.size()));
    if (calib.rank() < 1 || calib.dim(0) == 0) throw InputError(where, "the calibration set is empty");
    if (calib.dtype() != DType::f32) throw InputError(where, "calibration images must be f32");
    auto it = g.values.find(g.inputs[0]);
    if (it == g.values.end() || !it->second.shape) return;
    if (it->second.dtype && *it->second.dtype != DType::f32)
        throw InputError(where, "input '" + g.inputs[0] + "' is not f32; static calibration feeds float images");
    const Shape& want = *it->second.shape;
    bool ok = static_cast<int64_t>(want.size()) == calib.rank();
    for (size_t d = 1; ok && d < want.size(); ++d) ok = want[d] < 0 || want[d] == calib.dim(static_cast<int>(d));
    if (!ok)
        throw InputError(where, "calibration images have shape " + shape_to_string(calib.shape()) + "; input '" +
                                    g.inputs[0] + "' takes " + shape_to_string(want));
}

// Runs the fp32 graph over the calibration batches and returns each observed tensor's range.
std::map<std::string, FloatRange> calibrate(const Graph& g, const Tensor& calib, const std::set<std::string>& observed,
                                            const GraphPtqOptions& o) {
    ObserverOptions oo = o.observer_options;
    oo.grid = o.grid;
    std::map<std::string, std::unique_ptr<ActivationObserver>> observers;
    // The graph's input and outputs keep their whole range: the input is data
    // with a hard extent (clipping saturates the brightest pixels: KL lost
    // 1.2 pt on LeNet-300), and a clipped top logit ties classes.
    for (const auto& t : observed) {
        const bool output = std::find(g.outputs.begin(), g.outputs.end(), t) != g.outputs.end();
        const bool input = std::find(g.inputs.begin(), g.inputs.end(), t) != g.inputs.end();
        observers[t] = make_observer(output || input ? ObserverKind::minmax : o.observer, oo);
    }
    int passes = 0;
    for (const auto& [t, obs] : observers) passes = std::max(passes, obs->passes());
    const graph::Executor exec(g);
    const Tensor images = calib.contiguous();
    const int64_t n = images.dim(0), per = images.numel() / n;
    Shape batch_shape = images.shape();
    int pass = 0;
    auto observe = [&](const std::string& name, const Tensor& value) {
        auto it = observers.find(name);
        if (it == observers.end() || value.dtype() != DType::f32 || pass >= it->second->passes()) return;
        const Tensor c = value.contiguous();
        const std::span<const float> v(c.data<float>(), static_cast<size_t>(c.numel()));
        for (float x : v) {
            if (!std::isfinite(x))
                throw InputError(o.where, "calibration activation '" + name + "' holds " +
                                              (std::isnan(x) ? "NaN" : "an infinite value") +
                                              " (non-finite weights or inputs?)");
        }
        it->second->observe(v, pass);
    };
    for (; pass < passes; ++pass) {
        for (int64_t b = 0; b < n; b += o.batch) {
            const int64_t rows = std::min(o.batch, n - b);
            batch_shape[0] = rows;
            const Tensor x = Tensor::from_floats(
                batch_shape, std::span<const float>(images.data<float>() + b * per, static_cast<size_t>(rows * per)));
            observe(g.inputs[0], x);
            try {
                exec.run({{g.inputs[0], x}}, observe);
            } catch (const InputError& e) {
                if (std::string(e.what()).find("calibration activation") != std::string::npos) throw;
                throw InputError(o.where, "calibration failed on images " + shape_to_string(x.shape()) + ": " + e.detail());
            }
        }
    }
    std::map<std::string, FloatRange> ranges;
    for (const auto& [t, obs] : observers) ranges[t] = obs->range();
    return ranges;
}

// Per-channel symmetric int8 codes of w along `axis`; fills the scales.
Tensor quantize_weight(const Tensor& w, int64_t axis, int qmax, std::vector<float>& scales, const std::string& where,
                       const std::string& name) {
    const Tensor c = w.contiguous();
    const int64_t channels = c.dim(static_cast<int>(axis));
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= c.dim(d);
    for (int d = static_cast<int>(axis) + 1; d < c.rank(); ++d) inner *= c.dim(d);
    const float* src = c.data<float>();
    for (int64_t i = 0; i < c.numel(); ++i) {
        if (!std::isfinite(src[i])) throw InputError(where, "weight '" + name + "' holds NaN or an infinite value");
    }
    scales.assign(static_cast<size_t>(channels), 0.f);
    auto at = [&](int64_t o, int64_t ch, int64_t i) { return (o * channels + ch) * inner + i; };
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t ch = 0; ch < channels; ++ch)
            for (int64_t i = 0; i < inner; ++i)
                scales[static_cast<size_t>(ch)] = std::max(scales[static_cast<size_t>(ch)], std::fabs(src[at(o, ch, i)]));
    const float top = static_cast<float>(qmax);
    for (float& s : scales) s = s > 0 ? s / top : 1.f;  // an all-zero channel: any scale is exact
    Tensor q = Tensor::empty(c.shape(), DType::i8);
    int8_t* dst = q.data<int8_t>();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t ch = 0; ch < channels; ++ch)
            for (int64_t i = 0; i < inner; ++i) {
                const float v = std::nearbyint(src[at(o, ch, i)] / scales[static_cast<size_t>(ch)]);
                dst[at(o, ch, i)] = static_cast<int8_t>(std::clamp(v, -top, top));
            }
    return q;
}

Tensor per_channel_tensor(const std::vector<float>& v) {
    return Tensor::from_floats({static_cast<int64_t>(v.size())}, v);
}

}  // namespace

int weight_qmax(int bits) {
    if (bits != 8 && bits != 6 && bits != 4 && bits != 2)
        throw UsageError("--weights", format("%d-bit weights: graph models take int8, int6, int4 or int2", bits));
    return (1 << (bits - 1)) - 1;
}

// Constants folded first: exporters such as Paddle's store every weight as a
// Constant node, which only an initializer-reading quantizer would miss.
Graph prepare_float_graph(const Graph& fp32) {
    return graph::fold_batch_norm(graph::remove_identities(graph::fold_constants(fp32)));
}

std::vector<QuantizableLayer> quantizable_layers(const Graph& g) {
    std::vector<QuantizableLayer> layers;
    for (size_t i : g.topological_order()) {
        const Node& n = g.nodes[i];
        const auto axis = weight_axis(g, n);
        if (!axis) continue;
        layers.push_back({n.name, n.inputs[1], *axis, initializer(g, n.inputs[1])->numel(), 8});
    }
    return layers;
}

Tensor fake_quantize_weight(const Tensor& w, int64_t axis, int bits, const std::string& where) {
    std::vector<float> scales;
    const Tensor codes = quantize_weight(w, axis, weight_qmax(bits), scales, where, "weight");
    Tensor out = Tensor::empty(codes.shape(), DType::f32);
    const int64_t channels = codes.dim(static_cast<int>(axis));
    int64_t inner = 1;
    for (int d = static_cast<int>(axis) + 1; d < codes.rank(); ++d) inner *= codes.dim(d);
    const int8_t* q = codes.data<int8_t>();
    float* dst = out.data<float>();
    for (int64_t i = 0; i < codes.numel(); ++i) dst[i] = static_cast<float>(q[i]) * scales[static_cast<size_t>((i / inner) % channels)];
    return out;
}

GraphPtqResult quantize_graph_static(const Graph& fp32, const Tensor& calib, const GraphPtqOptions& o) {
    if (o.batch < 1) throw UsageError("batch", "calibration batch must be at least 1");
    const int qmax = weight_qmax(o.weight_bits);
    for (const auto& [node, bits] : o.layer_weight_bits) weight_qmax(bits);
    if (o.adaround && !o.layer_weight_bits.empty())
        throw UsageError("--method", "adaround learns one weight width for the whole model, not per-layer widths");
    // Per-axis DequantizeLinear is opset 13: older ops are rewritten to their opset-13 forms first.
    Graph g = graph::upgrade_opset(prepare_float_graph(fp32), std::max<int64_t>(fp32.opset, 13));
    check_calibration_shape(g, calib, o.where);
    GraphPtqResult result;
    if (o.equalize) g = equalize_cross_layer(g, &result.equalized);
    const Graph float_graph = g;  // what AdaRound / bias correction reconstruct
    const std::vector<size_t> order = g.topological_order();
    std::map<std::string, std::vector<size_t>> readers;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const auto& in : g.nodes[i].inputs) if (!in.empty()) readers[in].push_back(i);

    // Which tensors to quantize: inputs and (activated) outputs of the linear ops,
    // then through data-movement ops in both directions.
    ActivationPlan plan;
    std::vector<size_t> linear;
    std::map<size_t, std::string> linear_output;
    for (size_t i : order) {
        const Node& n = g.nodes[i];
        if (!weight_axis(g, n)) continue;
        linear.push_back(i);
        plan.add(n.inputs[0]);
        linear_output[i] = quantized_output(g, n, readers);
        plan.add(linear_output[i]);
    }
    if (linear.empty())
        throw InputError(o.where, "the model has no Conv, Gemm or MatMul with constant f32 weights: nothing to quantize");
    for (const auto& [node, bits] : o.layer_weight_bits) {
        if (std::none_of(linear.begin(), linear.end(), [&, &name = node](size_t i) { return g.nodes[i].name == name; }))
            throw UsageError("layer bits", "'" + node + "' is not a Conv, Gemm or MatMul layer of " + o.where);
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i : order) {
            const Node& n = g.nodes[i];
            if (!kPassThrough.count(n.op_type) || n.inputs.empty() || n.outputs.empty()) continue;
            if (n.outputs.size() > 1 && !n.outputs[1].empty()) continue;  // MaxPool's indices
            const std::string &in = n.inputs[0], &out = n.outputs[0];
            if ((plan.has(in) || plan.has(out)) && !plan.linked(out, in) && !initializer(g, in)) {
                plan.link(out, in);
                changed = true;
            }
        }
    }
    std::set<std::string> observed;
    for (const auto& [t, parent] : plan.all()) {
        if (t == parent) observed.insert(t);
    }
    const std::map<std::string, FloatRange> ranges = calibrate(g, calib, observed, o);

    std::map<std::string, QuantParams> params;
    auto report = [&](const std::string& t) {
        const QuantParams p = activation_params(ranges.at(t), o.grid);
        params[t] = p;
        result.activations.push_back({t, ranges.at(t), p});
    };
    if (observed.count(g.inputs[0])) report(g.inputs[0]);  // in graph order, the input first
    for (size_t i : order)
        for (const auto& v : g.nodes[i].outputs)
            if (observed.count(v)) report(v);
    auto params_of = [&](const std::string& t) { return params.at(plan.root(t)); };

    // Clip(0, m) before a Q whose grid tops out at or below m, zero point at the
    // codes' minimum: it is a Relu the Q performs (so qdq_fuse absorbs it).
    for (auto& [i, out] : linear_output) {
        auto it = readers.find(g.nodes[i].outputs[0]);
        if (out == g.nodes[i].outputs[0] || it == readers.end()) continue;
        Node& act = g.nodes[it->second[0]];
        if (act.op_type != "Clip" || o.grid.symmetric) continue;
        const QuantParams p = params_of(out);
        const float top = dequantize_value(o.grid.is_unsigned ? 255 : 127, p);
        const float clip_max = scalar_of(g, act, 2, std::numeric_limits<float>::infinity());
        if (p.zero_point == (o.grid.is_unsigned ? 0 : -128) && top <= clip_max * (1 + 1e-6f)) {
            act.op_type = "Relu";
            act.inputs.resize(1);
        }
    }

    // Weights and biases behind DequantizeLinear nodes.
    std::vector<Node> weight_nodes;
    std::vector<RefinedLayer> refined;
    for (size_t i : linear) {
        Node& n = g.nodes[i];
        const int64_t axis = *weight_axis(g, n);
        refined.push_back({n.name, static_cast<int>(axis)});
        const std::string w = n.inputs[1];
        std::vector<float> ws;
        const std::string base = n.name + "_W";
        const auto width = o.layer_weight_bits.find(n.name);
        const int bits = width == o.layer_weight_bits.end() ? o.weight_bits : width->second;
        result.layers.push_back({n.name, w, axis, g.initializers.at(w).numel(), bits});
        g.initializers[base + "_quantized"] = quantize_weight(g.initializers.at(w), axis, weight_qmax(bits), ws, o.where, w);
        g.initializers[base + "_scale"] = per_channel_tensor(ws);
        g.initializers[base + "_zero_point"] = Tensor::zeros({static_cast<int64_t>(ws.size())}, DType::i8);
        weight_nodes.push_back({"DequantizeLinear", base + "_DequantizeLinear",
                                {base + "_quantized", base + "_scale", base + "_zero_point"}, {base + "_dequantized"},
                                {{"axis", graph::int_attr(axis)}}});
        n.inputs[1] = base + "_dequantized";
        const Tensor* b = n.has_input(2) ? initializer(g, n.inputs[2]) : nullptr;
        if (!b || b->dtype() != DType::f32 || b->rank() != 1 || b->numel() != static_cast<int64_t>(ws.size())) continue;
        const float sx = params_of(n.inputs[0]).scale;
        const std::vector<float> bf = b->to_floats();
        std::vector<float> bs(ws.size());
        Tensor bq = Tensor::empty({static_cast<int64_t>(ws.size())}, DType::i32);
        for (size_t c = 0; c < ws.size(); ++c) {
            bs[c] = sx * ws[c];
            if (!std::isfinite(bf[c])) throw InputError(o.where, "bias '" + n.inputs[2] + "' holds NaN or an infinite value");
            const double q = std::nearbyint(static_cast<double>(bf[c]) / bs[c]);
            bq.data<int32_t>()[c] = static_cast<int32_t>(std::clamp<double>(q, -2147483647.0, 2147483647.0));
        }
        const std::string bb = n.name + "_B";
        g.initializers[bb + "_quantized"] = bq;
        g.initializers[bb + "_scale"] = per_channel_tensor(bs);
        weight_nodes.push_back({"DequantizeLinear", bb + "_DequantizeLinear", {bb + "_quantized", bb + "_scale"},
                                {bb + "_dequantized"}, {{"axis", graph::int_attr(0)}}});
        n.inputs[2] = bb + "_dequantized";
    }
    result.quantized_ops = static_cast<int>(linear.size());

    // Q -> DQ after every planned tensor; its readers read the DQ. A graph
    // output keeps its name on the DQ (the producer writes "<name>_float").
    auto qdq_pair = [&](const std::string& t, std::vector<Node>& out, std::map<std::string, std::string>& renamed) {
        const QuantParams p = params_of(t);
        const bool graph_output = std::find(g.outputs.begin(), g.outputs.end(), t) != g.outputs.end();
        const std::string src = graph_output ? t + "_float" : t, dst = graph_output ? t : t + "_dequantized";
        g.initializers[t + "_scale"] = scalar_tensor(p.scale);
        g.initializers[t + "_zero_point"] = zero_point_tensor(p.zero_point, o.grid);
        out.push_back({"QuantizeLinear", t + "_QuantizeLinear", {src, t + "_scale", t + "_zero_point"}, {t + "_quantized"}, {}});
        out.push_back({"DequantizeLinear", t + "_DequantizeLinear", {t + "_quantized", t + "_scale", t + "_zero_point"}, {dst}, {}});
        renamed[t] = dst;
        if (graph_output) renamed[t + "#producer"] = src;
    };
    std::vector<Node> nodes = weight_nodes;
    std::map<std::string, std::string> renamed;
    for (const auto& in : g.inputs)
        if (plan.has(in)) qdq_pair(in, nodes, renamed);
    for (size_t i : order) {
        Node n = g.nodes[i];
        for (auto& in : n.inputs)
            if (auto it = renamed.find(in); it != renamed.end()) in = it->second;
        std::vector<Node> after;
        for (auto& out : n.outputs) {
            if (out.empty() || !plan.has(out)) continue;
            qdq_pair(out, after, renamed);
            if (auto it = renamed.find(out + "#producer"); it != renamed.end()) out = it->second;
        }
        nodes.push_back(std::move(n));
        nodes.insert(nodes.end(), after.begin(), after.end());
    }
    g.nodes = std::move(nodes);
    g.opset = std::max<int64_t>(g.opset, 13);  // per-axis DequantizeLinear
    result.graph = graph::eliminate_dead_nodes(std::move(g));
    WeightRefineOptions ro;
    ro.adaround = o.adaround;
    ro.adaround_options = o.adaround_options;
    ro.bias_correction = o.bias_correction;
    ro.qmax = qmax;
    ro.rows = o.adaround_rows;
    ro.batch = o.batch;
    ro.where = o.where;
    result.refined = refine_weights(float_graph, result.graph, refined, calib, ro);
    return result;
}

}  // namespace tern::quant
