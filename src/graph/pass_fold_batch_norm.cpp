// BatchNormalization folded into the Conv before it:
//   y = a * (W x + B) + (beta - a * mean),  a = scale / sqrt(var + eps)
//     = (a W) x + (a B + beta - a * mean)
// per output channel, with a computed exactly as the reference op does.
#include <cmath>

#include "graph/pass_util.h"
#include "graph/passes.h"

namespace tern::graph {

namespace {

// The f32 initializer `name` with `count` elements, or null.
const Tensor* f32_init(const Graph& g, const std::string& name, int64_t count) {
    auto it = g.initializers.find(name);
    if (it == g.initializers.end() || it->second.dtype() != DType::f32 || !it->second.is_contiguous()) return nullptr;
    return it->second.numel() == count ? &it->second : nullptr;
}

}  // namespace

Graph fold_batch_norm(Graph g) {
    const ValueUses uses(g);
    std::vector<bool> remove(g.nodes.size(), false);
    for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
        const Node& bn = g.nodes[bi];
        if (bn.op_type != "BatchNormalization" || bn.attr_int("training_mode", 0) != 0) continue;
        if (bn.inputs.size() < 5 || bn.outputs.empty() || bn.outputs[0].empty()) continue;
        bool extra_outputs = false;  // running mean / var outputs (training only) keep the node
        for (size_t k = 1; k < bn.outputs.size(); ++k) extra_outputs = extra_outputs || !bn.outputs[k].empty();
        auto prod = uses.producer.find(bn.inputs[0]);
        if (extra_outputs || prod == uses.producer.end() || !uses.only_reader(bn.inputs[0], bi)) continue;
        Node& conv = g.nodes[prod->second];
        if (conv.op_type != "Conv" || remove[prod->second] || conv.inputs.size() < 2) continue;
        auto w_it = g.initializers.find(conv.inputs[1]);
        if (w_it == g.initializers.end() || w_it->second.dtype() != DType::f32 || w_it->second.rank() < 3) continue;
        const Tensor w = w_it->second.contiguous();
        const int64_t O = w.dim(0), per_o = O ? w.numel() / O : 0;
        const Tensor* p[4];
        bool ok = true;
        for (int k = 0; k < 4; ++k) ok = ok && (p[k] = f32_init(g, bn.inputs[1 + k], O)) != nullptr;
        const Tensor* b = conv.has_input(2) ? f32_init(g, conv.inputs[2], O) : nullptr;
        if (!ok || (conv.has_input(2) && !b)) continue;

        const float eps = bn.attr_float("epsilon", 1e-5f);
        Tensor w2 = Tensor::empty(w.shape(), DType::f32);
        Tensor b2 = Tensor::empty({O}, DType::f32);
        for (int64_t o = 0; o < O; ++o) {
            const float a = p[0]->data<float>()[o] / std::sqrt(p[3]->data<float>()[o] + eps);
            const float shift = p[1]->data<float>()[o] - a * p[2]->data<float>()[o];
            for (int64_t i = 0; i < per_o; ++i) w2.data<float>()[o * per_o + i] = a * w.data<float>()[o * per_o + i];
            b2.data<float>()[o] = (b ? a * b->data<float>()[o] : 0.f) + shift;
        }
        const std::string wn = fresh_name(g, conv.name + "_bn_weight"), bnn = fresh_name(g, conv.name + "_bn_bias");
        g.initializers[wn] = std::move(w2);
        g.initializers[bnn] = std::move(b2);
        conv.inputs.resize(3);
        conv.inputs[1] = wn;
        conv.inputs[2] = bnn;
        conv.outputs[0] = bn.outputs[0];
        remove[bi] = true;
    }
    erase_nodes(g, remove);
    return g;
}

}  // namespace tern::graph
