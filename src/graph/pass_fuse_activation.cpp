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
    if (f.kind == Kind::hard_swish_div) params.floats = {f.a, f.b, f.c, f.d};
    conv.attributes["activation_params"] = params;
    conv.outputs[0] = output;
}

// The node of `y`'s two readers `readers` that is op `op`, the other in *other.
const Node* reader_of_type(const Graph& g, const std::vector<size_t>& readers, const char* op, size_t* index, size_t* other) {
    for (int k = 0; k < 2; ++k) {
        if (g.nodes[readers[k]].op_type == op) {
            *index = readers[k];
            *other = readers[1 - k];
            return &g.nodes[readers[k]];
        }
    }
    return nullptr;
}

// Paddle's hardswish on y: Div(Mul(y, Clip(Add(y, shift), lo, hi)), divisor),
// the Mul's operands in either order, the Add's constant on either side. Returns
// the activation and the nodes it replaces (Add, Clip, Mul, Div); the Div's
// output becomes the conv's.
struct HardSwishDivMatch {
    FusedActivation act;
    size_t nodes[4];
    std::string output;
};
std::optional<HardSwishDivMatch> match_hard_swish_div(const Graph& g, const ValueUses& uses, const std::string& y,
                                                      const std::vector<size_t>& readers) {
    size_t ai = 0, mi = 0;
    const Node* add = reader_of_type(g, readers, "Add", &ai, &mi);
    if (!add || g.nodes[mi].op_type != "Mul" || add->inputs.size() != 2 || add->outputs.size() != 1) return std::nullopt;
    const size_t shift_at = add->inputs[0] == y ? 1 : 0;
    if (add->inputs[1 - shift_at] != y) return std::nullopt;
    const auto shift = scalar_init(g, *add, shift_at, 0.f);
    if (!shift || !add->has_input(shift_at)) return std::nullopt;
    // Add -> Clip -> Mul -> Div, each the only reader of the one before.
    auto only_reader = [&](const std::string& v) -> std::optional<size_t> {
        auto it = uses.readers.find(v);
        if (it == uses.readers.end() || it->second.size() != 1 || uses.is_output.count(v)) return std::nullopt;
        return it->second[0];
    };
    const auto ci = only_reader(add->outputs[0]);
    if (!ci || g.nodes[*ci].op_type != "Clip" || g.nodes[*ci].inputs.empty() || g.nodes[*ci].inputs[0] != add->outputs[0] ||
        g.nodes[*ci].outputs.size() != 1)
        return std::nullopt;
    const auto clip = activation_of(g, g.nodes[*ci]);
    if (!clip || clip->kind != Kind::clip) return std::nullopt;
    const Node& mul = g.nodes[mi];
    const std::string& h = g.nodes[*ci].outputs[0];
    if (!uses.only_reader(h, mi) || mul.inputs.size() != 2 || mul.outputs.size() != 1) return std::nullopt;
    if (!((mul.inputs[0] == y && mul.inputs[1] == h) || (mul.inputs[0] == h && mul.inputs[1] == y))) return std::nullopt;
    const auto di = only_reader(mul.outputs[0]);
    if (!di) return std::nullopt;
    const Node& div = g.nodes[*di];
    if (div.op_type != "Div" || div.inputs.size() != 2 || div.inputs[0] != mul.outputs[0] || div.outputs.size() != 1) return std::nullopt;
    const auto divisor = scalar_init(g, div, 1, 1.f);
    if (!divisor) return std::nullopt;
    HardSwishDivMatch m;
    m.act = {Kind::hard_swish_div, *shift, clip->a, clip->b, *divisor};
    m.nodes[0] = ai, m.nodes[1] = *ci, m.nodes[2] = mi, m.nodes[3] = *di;
    m.output = div.outputs[0];
    return m;
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
        if (readers.size() != 2) continue;
        if (const auto m = match_hard_swish_div(g, uses, y, readers)) {
            make_fused(conv, m->act, m->output);
            for (size_t k : m->nodes) remove[k] = true;
            continue;
        }
        // y * HardSigmoid(y): readers are one HardSigmoid and one Mul of (y, h) in either order.
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
