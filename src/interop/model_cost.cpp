#include "interop/model_cost.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/error.h"
#include "core/thread_pool.h"
#include "graph/executor.h"
#include "graph/model_file.h"
#include "graph/passes.h"
#include "graph/plan_summary.h"
#include "graph/prepared_executor.h"
#include "interop/classifier_graph.h"

namespace tern::interop {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Ops that only relabel or copy their input: no arithmetic, and tern runs most as views.
const std::set<std::string>& view_ops() {
    static const std::set<std::string> s = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout",
                                            "Shape",   "Constant", "Cast"};
    return s;
}

struct NodeShapes {
    const CostModel& m;
    bool known(const std::string& v) const { return m.value_shapes.count(v) || m.graph.initializers.count(v); }
    Shape of(const std::string& v) const {
        if (auto it = m.value_shapes.find(v); it != m.value_shapes.end()) return it->second;
        if (auto it = m.graph.initializers.find(v); it != m.graph.initializers.end()) return it->second.shape();
        return {};
    }
    int64_t numel(const std::string& v) const { return known(v) ? shape_numel(of(v)) : 0; }
    bool weight(const std::string& v) const { return m.graph.initializers.count(v) != 0; }
};

bool is_conv(const graph::Node& n) { return n.op_type == "Conv" || n.op_type == "FusedConv"; }


}  // namespace

CostModel cost_model_of(graph::Graph g, const std::string& label, const std::string& format) {
    CostModel m;
    m.path = label;
    m.format = format;
    try {
        m.graph = graph::optimize(std::move(g));
        std::string why;
        const auto shapes = graph::planning_shapes(m.graph, &why);
        if (!shapes) throw InputError(label, "cannot plan the model: " + why);
        int64_t input_bytes = 0;
        for (const auto& [name, s] : *shapes) input_bytes += 4 * shape_numel(s);
        if (input_bytes > graph::kMaxPlannedInputBytes)
            throw InputError(label, "inputs of " + std::to_string(input_bytes) + " bytes: too large to cost here");
        m.input_shapes = *shapes;
        for (const auto& [name, s] : m.input_shapes) m.value_shapes[name] = s;
        // Shapes that depend on values (Reshape targets) are only known by running the model once.
        graph::Executor(m.graph).run(graph::sample_inputs(m.graph, m.input_shapes),
                                     [&](const std::string& name, const Tensor& t) { m.value_shapes[name] = t.shape(); });
    } catch (const IoError&) {
        throw;
    } catch (const Error& e) {
        if (e.where() == label) throw;
        throw InputError(label, e.what());
    }
    return m;
}

CostModel load_cost_model(const std::string& path) {
    graph::Graph g;
    std::string format;
    try {
        if (ends_with(path, ".safetensors")) {
            g = load_classifier_graph(path);
            format = "classifier";
        } else if (const auto f = graph::graph_file_format(path); f != graph::GraphFileFormat::none) {
            g = graph::import_graph_file(path);
            format = graph::graph_file_format_name(f);
        } else {
            throw InputError(path, "not a model tern can cost (a .safetensors classifier, .onnx or .tflite file)");
        }
    } catch (const IoError&) {
        throw;
    } catch (const Error& e) {
        if (e.where() == path) throw;
        throw InputError(path, e.what());
    }
    return cost_model_of(std::move(g), path, format);
}

std::vector<hw::LayerCost> layer_costs(const CostModel& m) {
    const NodeShapes sh{m};
    std::vector<hw::LayerCost> out;
    for (size_t i : m.graph.topological_order()) {
        const graph::Node& n = m.graph.nodes[i];
        if (view_ops().count(n.op_type)) continue;
        hw::LayerCost c;
        c.name = n.name;
        c.kind = n.op_type;
        for (size_t k = 0; k < n.inputs.size() - std::min(n.inputs.size(), n.implicit_inputs); ++k) {
            if (n.inputs[k].empty()) continue;
            (sh.weight(n.inputs[k]) ? c.params : c.activations_read) += sh.numel(n.inputs[k]);
        }
        int64_t out_elems = 0;
        for (const std::string& o : n.outputs)
            if (!o.empty()) out_elems += sh.numel(o);
        c.activations_written = out_elems;
        if (is_conv(n) && n.inputs.size() >= 2 && sh.known(n.inputs[1])) {
            const Shape w = sh.of(n.inputs[1]);  // (O, C/groups, KH, KW)
            int64_t per_output = 1;
            for (size_t d = 1; d < w.size(); ++d) per_output *= w[d];
            c.macs = out_elems * per_output;
            if (n.op_type == "FusedConv") c.ops = out_elems;  // the fused activation
        } else if ((n.op_type == "Gemm" || n.op_type == "MatMul") && n.inputs.size() >= 2) {
            const Shape a = sh.of(n.inputs[0]);
            if (!a.empty()) {
                const int64_t k = n.op_type == "Gemm" && n.attr_int("transA", 0) != 0 ? a[0] : a.back();
                c.macs = out_elems * k;
            }
            if (n.op_type == "Gemm" && n.has_input(2)) c.ops = out_elems;  // the bias add
        } else if (n.op_type == "MaxPool" || n.op_type == "AveragePool") {
            int64_t window = 1;
            for (int64_t k : n.attr_ints("kernel_shape")) window *= k;
            c.ops = out_elems * window;
        } else if (n.op_type == "GlobalAveragePool" || n.op_type == "ReduceMean" || n.op_type == "ReduceSum") {
            c.ops = c.activations_read;
        } else if (n.op_type == "BatchNormalization") {
            c.ops = 2 * out_elems;  // folded to a scale and a shift
        } else {
            c.ops = out_elems;  // elementwise: one operation per output
        }
        out.push_back(c);
    }
    return out;
}

std::vector<hw::LayerConfig> configs_only(const std::vector<NodeLatencyConfig>& v) {
    std::vector<hw::LayerConfig> out;
    for (const auto& c : v) out.push_back(c.config);
    return out;
}

std::vector<NodeLatencyConfig> latency_configs(const CostModel& m, std::vector<std::string>* uncovered) {
    const NodeShapes sh{m};
    std::vector<NodeLatencyConfig> out;
    auto square_nchw = [&](const std::string& v) {
        const Shape s = sh.of(v);
        return s.size() == 4 && s[0] == 1 && s[2] == s[3];
    };
    for (size_t i : m.graph.topological_order()) {
        const graph::Node& n = m.graph.nodes[i];
        if (view_ops().count(n.op_type)) continue;
        std::optional<hw::LayerConfig> c;
        if (is_conv(n) && n.inputs.size() >= 2 && square_nchw(n.inputs[0]) && sh.of(n.inputs[1]).size() == 4) {
            const Shape x = sh.of(n.inputs[0]), w = sh.of(n.inputs[1]);
            const auto strides = n.attr_ints("strides", {1, 1});
            const auto pads = n.attr_ints("pads", {0, 0, 0, 0});
            const auto dil = n.attr_ints("dilations", {1, 1});
            const int64_t groups = n.attr_int("group", 1);
            const bool regular = w[2] == w[3] && strides.size() == 2 && strides[0] == strides[1] && pads.size() == 4 &&
                                 std::all_of(pads.begin(), pads.end(), [&](int64_t p) { return p == pads[0]; }) &&
                                 std::all_of(dil.begin(), dil.end(), [](int64_t d) { return d == 1; }) &&
                                 n.attr_string("auto_pad", "NOTSET") == "NOTSET";
            const bool depthwise = groups == x[1] && w[0] == x[1] && w[1] == 1;
            if (regular && (groups == 1 || depthwise))
                c = hw::LayerConfig{depthwise ? hw::LayerKind::dwconv : hw::LayerKind::conv, x[1], w[0], w[2], strides[0],
                                    x[2], 1, pads[0]};
        } else if ((n.op_type == "Gemm" || n.op_type == "MatMul") && !n.outputs.empty()) {
            const Shape y = sh.of(n.outputs[0]);
            const Shape a = sh.of(n.inputs[0]);
            // The graph executor runs Gemm on ops::sgemm, unprepared (graph/ops_linear.cpp): the
            // table's "gemm" entry times that, not the prepared ops::Linear ("linear").
            if (y.size() == 2 && y[0] == 1 && a.size() == 2 && n.attr_int("transA", 0) == 0)
                c = hw::LayerConfig{hw::LayerKind::gemm, a[1], y[1], 1, 1, 1, 1, -1};
        } else if ((n.op_type == "MaxPool" || n.op_type == "AveragePool") && square_nchw(n.inputs[0])) {
            const Shape x = sh.of(n.inputs[0]);
            const auto k = n.attr_ints("kernel_shape");
            const auto strides = n.attr_ints("strides", {1, 1});
            const auto pads = n.attr_ints("pads", {0, 0, 0, 0});
            if (k.size() == 2 && k[0] == k[1] && strides.size() == 2 && strides[0] == strides[1] && pads.size() == 4 &&
                std::all_of(pads.begin(), pads.end(), [&](int64_t p) { return p == pads[0]; }) &&
                n.attr_int("ceil_mode", 0) == 0)
                c = hw::LayerConfig{n.op_type == "MaxPool" ? hw::LayerKind::maxpool : hw::LayerKind::avgpool, x[1], x[1],
                                    k[0], strides[0], x[2], 1, pads[0]};
        } else if (n.op_type == "GlobalAveragePool" && square_nchw(n.inputs[0])) {
            const Shape x = sh.of(n.inputs[0]);
            c = hw::LayerConfig{hw::LayerKind::global_avgpool, x[1], x[1], 1, 1, x[2], 1, -1};
        } else if ((n.op_type == "Add" || n.op_type == "Relu" || n.op_type == "Clip") && !n.outputs.empty()) {
            // As a (C, H, W) block of C * H * W elements: a 2-D (1, N) tensor is (N, 1, 1).
            const Shape y = sh.of(n.outputs[0]);
            const bool two_same = n.op_type != "Add" || (n.inputs.size() == 2 && sh.of(n.inputs[0]) == sh.of(n.inputs[1]));
            const hw::LayerKind kind = n.op_type == "Add" ? hw::LayerKind::add : hw::LayerKind::relu;
            if (two_same && y.size() == 4 && y[0] == 1 && y[2] == y[3]) c = hw::LayerConfig{kind, y[1], y[1], 1, 1, y[2], 1, -1};
            else if (two_same && y.size() == 2 && y[0] == 1) c = hw::LayerConfig{kind, y[1], y[1], 1, 1, 1, 1, -1};
        }
        if (c) {
            try {
                hw::validate_config(*c);
                out.push_back({n.name, *c});
                continue;
            } catch (const InputError&) {
                // outside the table's range: counted as not covered below
            }
        }
        if (uncovered) uncovered->push_back(n.name + " (" + n.op_type + ")");
    }
    return out;
}

double measure_model_latency_us(const CostModel& m, int warmup, int runs) {
    hw::SingleThreadScope one_thread;
    graph::PreparedExecutor exec(m.graph, m.input_shapes);
    const auto inputs = graph::sample_inputs(m.graph, m.input_shapes);
    for (int i = 0; i < warmup; ++i) exec.run(inputs);
    std::vector<double> us;
    for (int i = 0; i < std::max(runs, 1); ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        exec.run(inputs);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::nth_element(us.begin(), us.begin() + static_cast<long>(us.size() / 2), us.end());
    return us[us.size() / 2];
}

}  // namespace tern::interop
