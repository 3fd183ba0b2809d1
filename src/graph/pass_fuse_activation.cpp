// Conv + activation -> FusedConv. The activation must be the only reader of
// the Conv's output (for x * HardSigmoid(x): the HardSigmoid and the Mul are
// its only readers and the Mul the HardSigmoid's only reader).
#include <limits>
#include <optional>

#include "graph/fused_activation.h"
#include "graph/pass_util.h"
#include "graph/passes.h"

namespace tern::graph {

namespace {

using Kind = FusedActivation::Kind;

// A scalar f32 initializer's value; nullopt when absent or not constant.
std::optional<float> scalar_init(const Graph& g, const Node& n, size_t i, float fallback) {
    if (!n.has_input(i)) return fallback;
    auto it = g.initializers.find(n.inputs[i]);
    if (it == g.initializers.end() || it->second.dtype() != DType::f32 || it->second.numel() != 1) return std::nullopt;
    return it->second.contiguous().data<float>()[0];
}

// The activation node `n` computes on its first input, when tern fuses it.
std::optional<FusedActivation> activation_of(const Graph& g, const Node& n) {
    FusedActivation f;
    const float inf = std::numeric_limits<float>::infinity();
    if (n.op_type == "Relu") {
        f.kind = Kind::relu;
    } else if (n.op_type == "LeakyRelu") {
        f = {Kind::leaky_relu, n.attr_float("alpha", 0.01f), 0};
    } else if (n.op_type == "HardSigmoid") {
        f = {Kind::hard_sigmoid, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
    } else if (n.op_type == "HardSwish") {
        f = {Kind::hard_swish, 1.f / 6.f, 0.5f};
    } else if (n.op_type == "Clip") {
        if (g.opset < 11) {
            f = {Kind::clip, n.attr_float("min", -inf), n.attr_float("max", inf)};
        } else {
            const auto lo = scalar_init(g, n, 1, -inf), hi = scalar_init(g, n, 2, inf);
            if (!lo || !hi) return std::nullopt;
            f = {Kind::clip, *lo, *hi};
        }
    } else {
        return std::nullopt;
    }
    return f;
}

void make_fused(Node& conv, const FusedActivation& f, const std::string& output) {
    conv.op_type = "FusedConv";
    Attribute name;
    name.kind = Attribute::Kind::string;
    name.s = fused_activation_name(f.kind);
    conv.attributes["activation"] = name;
    Attribute params;
    params.kind = Attribute::Kind::floats;
    if (f.kind == Kind::clip || f.kind == Kind::hard_sigmoid || f.kind == Kind::hard_swish) params.floats = {f.a, f.b};
    if (f.kind == Kind::leaky_relu) params.floats = {f.a};
    conv.attributes["activation_params"] = params;
    conv.outputs[0] = output;
}

}  // namespace

Graph fuse_conv_activation(Graph g) {
    const ValueUses uses(g);
    std::vector<bool> remove(g.nodes.size(), false);
    for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
        Node& conv = g.nodes[ci];
        if (conv.op_type != "Conv" || conv.outputs.size() != 1 || uses.is_output.count(conv.outputs[0])) continue;
        const std::string& y = conv.outputs[0];
        auto rd = uses.readers.find(y);
        if (rd == uses.readers.end()) continue;
        const std::vector<size_t>& readers = rd->second;
        if (readers.size() == 1) {
            const Node& act = g.nodes[readers[0]];
            if (act.inputs.empty() || act.inputs[0] != y || act.outputs.size() != 1) continue;
            const auto f = activation_of(g, act);
            if (!f) continue;
            make_fused(conv, *f, act.outputs[0]);
            remove[readers[0]] = true;
            continue;
        }
        // y * HardSigmoid(y): readers are one HardSigmoid and one Mul of (y, h) in either order.
        if (readers.size() != 2) continue;
        for (int first = 0; first < 2; ++first) {
            const size_t hi = readers[first], mi = readers[1 - first];
            const Node& hs = g.nodes[hi];
            const Node& mul = g.nodes[mi];
            if (hs.op_type != "HardSigmoid" || mul.op_type != "Mul" || hs.outputs.size() != 1 || mul.inputs.size() != 2) continue;
            const std::string& h = hs.outputs[0];
            if (!uses.only_reader(h, mi)) continue;
            if (!((mul.inputs[0] == y && mul.inputs[1] == h) || (mul.inputs[0] == h && mul.inputs[1] == y))) continue;
            // The Mul is (y * h) or (h * y): the same product in IEEE arithmetic.
            make_fused(conv, {Kind::hard_swish, hs.attr_float("alpha", 0.2f), hs.attr_float("beta", 0.5f)}, mul.outputs[0]);
            remove[hi] = remove[mi] = true;
            break;
        }
    }
    erase_nodes(g, remove);
    return g;
}

}  // namespace tern::graph
