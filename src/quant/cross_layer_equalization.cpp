#include "quant/cross_layer_equalization.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

namespace tern::quant {
namespace {

using graph::Graph;
using graph::Node;

// A linear op on a constant f32 weight used by it alone, and where its channels sit in that weight.
struct Linear {
    size_t node = 0;
    std::string weight, bias;  // bias empty when none (or shared)
    int64_t outputs = 0, inputs = 0;
};

bool sole_use(const std::map<std::string, int>& uses, const std::string& t) {
    auto it = uses.find(t);
    return it != uses.end() && it->second == 1;
}

std::optional<Linear> linear_of(const Graph& g, size_t i, const std::map<std::string, int>& uses) {
    const Node& n = g.nodes[i];
    if (n.inputs.size() < 2 || n.outputs.size() != 1) return std::nullopt;
    auto w = g.initializers.find(n.inputs[1]);
    if (w == g.initializers.end() || w->second.dtype() != DType::f32 || !sole_use(uses, n.inputs[1])) return std::nullopt;
    if (g.initializers.count(n.inputs[0])) return std::nullopt;
    const Tensor& t = w->second;
    Linear l{i, n.inputs[1], {}, 0, 0};
    if (n.op_type == "Conv" && t.rank() >= 3) {
        l.outputs = t.dim(0);
        l.inputs = t.dim(1) * n.attr_int("group", 1);
    } else if (n.op_type == "Gemm" && t.rank() == 2 && n.attr_int("transA", 0) == 0 && n.attr_float("alpha", 1.f) == 1.f &&
               n.attr_float("beta", 1.f) == 1.f) {
        const bool tb = n.attr_int("transB", 0) != 0;
        l.outputs = tb ? t.dim(0) : t.dim(1);
        l.inputs = tb ? t.dim(1) : t.dim(0);
    } else if (n.op_type == "MatMul" && t.rank() == 2) {
        l.outputs = t.dim(1);
        l.inputs = t.dim(0);
    } else {
        return std::nullopt;
    }
    if (n.has_input(2)) {
        auto b = g.initializers.find(n.inputs[2]);
        if (b == g.initializers.end() || b->second.dtype() != DType::f32 || b->second.numel() != l.outputs ||
            !sole_use(uses, n.inputs[2]))
            return std::nullopt;  // a bias we cannot rescale with the weights
        l.bias = n.inputs[2];
    }
    return l;
}

// Flat indices of output channel `c` (as A) or input channel `c` (as B) in the op's weight.
std::vector<int64_t> channel_indices(const Node& n, const Tensor& w, int64_t c, bool output) {
    std::vector<int64_t> idx;
    if (n.op_type == "Conv") {
        const int64_t cout = w.dim(0), cg = w.dim(1), inner = w.numel() / (cout * cg);
        if (output) {
            for (int64_t j = 0; j < cg * inner; ++j) idx.push_back(c * cg * inner + j);
            return idx;
        }
        const int64_t groups = n.attr_int("group", 1), per = cout / groups, grp = c / cg, ci = c % cg;
        for (int64_t o = grp * per; o < (grp + 1) * per; ++o)
            for (int64_t j = 0; j < inner; ++j) idx.push_back((o * cg + ci) * inner + j);
        return idx;
    }
    const int64_t rows = w.dim(0), cols = w.dim(1);
    // The weight is (rows, cols); channel c is row c or column c.
    const bool row = (n.op_type == "Gemm" && n.attr_int("transB", 0) != 0) ? output : !output;
    if (row)
        for (int64_t j = 0; j < cols; ++j) idx.push_back(c * cols + j);
    else
        for (int64_t r = 0; r < rows; ++r) idx.push_back(r * cols + c);
    return idx;
}

struct Pair {
    Linear a, b;
};

}  // namespace

Graph equalize_cross_layer(const Graph& fp32, EqualizeStats* stats, int max_sweeps) {
    Graph g = fp32;
    std::map<std::string, int> uses;
    std::map<std::string, std::vector<size_t>> readers;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const auto& in : g.nodes[i].inputs)
            if (!in.empty()) {
                ++uses[in];
                readers[in].push_back(i);
            }
    auto is_output = [&](const std::string& t) { return std::find(g.outputs.begin(), g.outputs.end(), t) != g.outputs.end(); };
    std::vector<Pair> pairs;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const std::optional<Linear> a = linear_of(g, i, uses);
        if (!a) continue;
        // Walk through ops that commute with a positive per-channel scale, each the sole reader.
        std::string t = g.nodes[i].outputs[0];
        for (;;) {
            auto r = readers.find(t);
            if (is_output(t) || r == readers.end() || r->second.size() != 1) break;
            const Node& n = g.nodes[r->second[0]];
            if (n.inputs.empty() || n.inputs[0] != t) break;
            const bool single_output = n.outputs.size() == 1 || (n.outputs.size() > 1 && n.outputs[1].empty());
            if ((n.op_type == "Relu" || n.op_type == "MaxPool") && single_output) {
                t = n.outputs[0];
                continue;
            }
            const std::optional<Linear> b = linear_of(g, r->second[0], uses);
            if (b && b->inputs == a->outputs) pairs.push_back({*a, *b});
            break;
        }
    }
    int sweep = 0;
    for (; sweep < max_sweeps && !pairs.empty(); ++sweep) {
        double worst = 0;
        for (const Pair& p : pairs) {
            const Node &na = g.nodes[p.a.node], &nb = g.nodes[p.b.node];
            std::vector<float> wa = g.initializers.at(p.a.weight).to_floats(), wb = g.initializers.at(p.b.weight).to_floats();
            std::vector<float> ba = p.a.bias.empty() ? std::vector<float>{} : g.initializers.at(p.a.bias).to_floats();
            const Tensor &ta = g.initializers.at(p.a.weight), &tb = g.initializers.at(p.b.weight);
            for (int64_t c = 0; c < p.a.outputs; ++c) {
                const std::vector<int64_t> ia = channel_indices(na, ta, c, true), ib = channel_indices(nb, tb, c, false);
                float r1 = 0, r2 = 0;
                for (int64_t j : ia) r1 = std::max(r1, std::fabs(wa[static_cast<size_t>(j)]));
                for (int64_t j : ib) r2 = std::max(r2, std::fabs(wb[static_cast<size_t>(j)]));
                if (!(r1 > 0) || !(r2 > 0) || !std::isfinite(r1) || !std::isfinite(r2)) continue;
                const float s = std::sqrt(r1 * r2) / r2;
                worst = std::max(worst, std::fabs(static_cast<double>(s) - 1.0));
                for (int64_t j : ia) wa[static_cast<size_t>(j)] /= s;
                for (int64_t j : ib) wb[static_cast<size_t>(j)] *= s;
                if (!ba.empty()) ba[static_cast<size_t>(c)] /= s;
            }
            // New tensors: the input graph's weights may share storage with these.
            g.initializers[p.a.weight] = Tensor::from_floats(ta.shape(), wa);
            g.initializers[p.b.weight] = Tensor::from_floats(tb.shape(), wb);
            if (!ba.empty()) g.initializers[p.a.bias] = Tensor::from_floats({p.a.outputs}, ba);
        }
        if (worst < 1e-3) {
            ++sweep;
            break;
        }
    }
    if (stats) *stats = {static_cast<int>(pairs.size()), sweep};
    return g;
}

}  // namespace tern::quant
