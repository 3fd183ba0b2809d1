#include "nas/proxyless_supernet.h"

#include "core/error.h"
#include "nas/build.h"
#include "nn/ops.h"

namespace tern::nas {

using nn::Var;

Supernet::Supernet(const Space& s, double width, const std::vector<MixedSlot>& slots, int64_t in_channels,
                   int64_t num_classes, uint64_t seed) {
    Arch shell = smallest_arch(s);  // any architecture at this width has the same stem, head and classifier
    shell.width = width;
    base_ = build_model(shell, seed, in_channels, num_classes);
    for (size_t i = 0; i < slots.size(); ++i) {
        std::vector<std::shared_ptr<nn::models::InvertedResidual>> ops;
        for (size_t o = 0; o < slots[i].ops.size(); ++o) {
            const CandidateOp& op = slots[i].ops[o];
            ops.push_back(op.skip ? nullptr
                                  : std::make_shared<nn::models::InvertedResidual>(
                                        slots[i].in_channels, slots[i].out_channels, slots[i].stride, op.expansion,
                                        nn::child_seed(seed, 1000 + 100 * i + o), op.kernel));
        }
        ops_.push_back(std::move(ops));
    }
}

Var Supernet::run_op(size_t slot, int op, const Var& h) {
    const auto& m = ops_.at(slot).at(static_cast<size_t>(op));
    return m ? m->forward(h) : h;  // skip: identity (skippable slots keep shape)
}

Var Supernet::forward(const Var& x, const std::vector<int>& path) {
    if (path.size() != ops_.size()) throw Error("proxyless", "one op per slot expected");
    Var h = nn::relu6(base_->stem_bn->forward(base_->stem->forward(x)));
    for (size_t i = 0; i < ops_.size(); ++i) h = run_op(i, path[i], h);
    h = nn::relu6(base_->head_bn->forward(base_->head->forward(h)));
    return base_->classifier->forward(nn::global_avg_pool2d(h));
}

Var Supernet::forward_gated(const Var& x, std::vector<GatedPair>& pairs) {
    if (pairs.size() != ops_.size()) throw Error("proxyless", "one gate pair per slot expected");
    Var h = nn::relu6(base_->stem_bn->forward(base_->stem->forward(x)));
    for (size_t i = 0; i < ops_.size(); ++i) {
        GatedPair& p = pairs[i];
        if (p.other < 0) {
            h = run_op(i, p.active, h);
            continue;
        }
        Var other;
        {
            // The inactive path's gradient would be multiplied by its gate, 0.
            nn::NoGradGuard no_grad;
            other = run_op(i, p.other, h.detach());
        }
        const Var active = run_op(i, p.active, h);
        p.gate_active = Var(Tensor::from_floats({1}, std::vector<float>{1.f}), true);
        p.gate_other = Var(Tensor::from_floats({1}, std::vector<float>{0.f}), true);
        h = nn::add(nn::mul(active, p.gate_active), nn::mul(other, p.gate_other));
    }
    h = nn::relu6(base_->head_bn->forward(base_->head->forward(h)));
    return base_->classifier->forward(nn::global_avg_pool2d(h));
}

Var Supernet::forward_mixed(const Var& x, const std::vector<Var>& weights) {
    if (weights.size() != ops_.size()) throw Error("darts", "one weight vector per slot expected");
    Var h = nn::relu6(base_->stem_bn->forward(base_->stem->forward(x)));
    for (size_t i = 0; i < ops_.size(); ++i) {
        const auto n = static_cast<int64_t>(ops_[i].size());
        if (weights[i].value().numel() != n) throw Error("darts", "one weight per op expected");
        Var mixed;
        for (int64_t k = 0; k < n; ++k) {
            // A {1} weight broadcasts over the op's output.
            const Var term = nn::mul(run_op(i, static_cast<int>(k), h), nn::slice(weights[i], 0, k, k + 1));
            mixed = k == 0 ? term : nn::add(mixed, term);
        }
        h = mixed;
    }
    h = nn::relu6(base_->head_bn->forward(base_->head->forward(h)));
    return base_->classifier->forward(nn::global_avg_pool2d(h));
}

std::vector<Var> Supernet::parameters() const {
    std::vector<Var> out = shared_parameters();
    for (size_t i = 0; i < ops_.size(); ++i)
        for (size_t k = 0; k < ops_[i].size(); ++k)
            for (const Var& p : op_parameters(i, static_cast<int>(k))) out.push_back(p);
    return out;
}

std::vector<Var> Supernet::shared_parameters() const {
    std::vector<Var> out;
    for (const nn::Module* m : std::initializer_list<const nn::Module*>{base_->stem.get(), base_->stem_bn.get(), base_->head.get(),
                                                                         base_->head_bn.get(), base_->classifier.get()})
        for (const Var& p : m->parameters()) out.push_back(p);
    return out;
}

std::vector<Var> Supernet::op_parameters(size_t slot, int op) const {
    const auto& m = ops_.at(slot).at(static_cast<size_t>(op));
    return m ? m->parameters() : std::vector<Var>{};
}

void Supernet::train(bool on) {
    base_->train(on);
    for (auto& ops : ops_)
        for (auto& m : ops)
            if (m) m->train(on);
}

void Supernet::set_weights_require_grad(bool on) {
    for (Var p : base_->parameters()) p.set_requires_grad(on);
    for (auto& ops : ops_)
        for (auto& m : ops)
            if (m)
                for (Var p : m->parameters()) p.set_requires_grad(on);
}

}  // namespace tern::nas
