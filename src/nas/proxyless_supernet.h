#pragma once
// ProxylessNAS's over-parameterized network: the shared stem, head and
// classifier of a MobileNetV2 at one width, and per slot one InvertedResidual
// per candidate op (its own weights; a skip op has none). It runs one path
// (weight steps) or, per slot, two paths mixed by binary gates (alpha steps).
#include <memory>
#include <vector>

#include "nas/proxyless_latency.h"
#include "nn/models/mobilenetv2.h"

namespace tern::nas {

struct GatedPair {
    int active = 0, other = -1;  // op indices; other < 0: the slot has one op (no gate)
    nn::Var gate_active, gate_other;  // leaves holding 1 and 0; their grads are dL/dg
};

class Supernet {
public:
    Supernet(const Space& s, double width, const std::vector<MixedSlot>& slots, int64_t in_channels, int64_t num_classes,
             uint64_t seed);

    // Logits through one op per slot.
    nn::Var forward(const nn::Var& x, const std::vector<int>& path);
    // Logits with each slot's output g_a * o_a + g_b * o_b. Only the active op's
    // output carries history back to the input; the other's value enters
    // through its gate (its gate gradient is all an alpha step needs).
    nn::Var forward_gated(const nn::Var& x, std::vector<GatedPair>& pairs);

    // Logits with each slot's output sum_o weights[slot][o] * op_o(h) over all of
    // its ops (weights[slot] has one entry per op, typically softmax(alpha_slot)).
    // Gradients reach the op weights, the input and, where `weights` carry
    // history, alpha.
    nn::Var forward_mixed(const nn::Var& x, const std::vector<nn::Var>& weights);

    std::vector<nn::Var> shared_parameters() const;                // stem, head, classifier
    std::vector<nn::Var> op_parameters(size_t slot, int op) const;  // empty for a skip
    std::vector<nn::Var> parameters() const;                        // shared, then every op's
    void train(bool on);
    // Off during alpha steps: no weight gradients are computed.
    void set_weights_require_grad(bool on);

private:
    nn::Var run_op(size_t slot, int op, const nn::Var& h);

    std::shared_ptr<nn::models::MobileNetV2> base_;  // its stem / head / classifier (its blocks are not run)
    std::vector<std::vector<std::shared_ptr<nn::models::InvertedResidual>>> ops_;  // [slot][op], null: skip
};

}  // namespace tern::nas
