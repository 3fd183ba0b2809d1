#include "prune/classifier_masks.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tern::prune {
namespace {

int64_t count_to_prune(double sparsity, int64_t n) {
    return std::clamp<int64_t>(std::llround(sparsity * static_cast<double>(n)), 0, n);
}

// Marks the k least salient of `s` as pruned (ties by index, so the count is exact).
void prune_smallest(const std::vector<float>& s, int64_t k, Mask& mask) {
    std::vector<int64_t> idx(s.size());
    std::iota(idx.begin(), idx.end(), 0);
    auto less = [&](int64_t a, int64_t b) { return s[a] < s[b] || (s[a] == s[b] && a < b); };
    if (k < static_cast<int64_t>(idx.size())) std::nth_element(idx.begin(), idx.begin() + k, idx.end(), less);
    for (int64_t i = 0; i < k; ++i) mask[static_cast<size_t>(idx[static_cast<size_t>(i)])] = 0;
}

}  // namespace

std::vector<Mask> layerwise_masks(const std::vector<std::vector<float>>& saliency, double sparsity) {
    std::vector<Mask> masks;
    for (const auto& s : saliency) {
        Mask m(s.size(), 1);
        prune_smallest(s, count_to_prune(sparsity, static_cast<int64_t>(s.size())), m);
        masks.push_back(std::move(m));
    }
    return masks;
}

std::vector<Mask> global_masks(const std::vector<std::vector<float>>& saliency, double sparsity) {
    // One flat list of (tensor, index), ranked together.
    std::vector<float> all;
    for (const auto& s : saliency) all.insert(all.end(), s.begin(), s.end());
    Mask flat(all.size(), 1);
    prune_smallest(all, count_to_prune(sparsity, static_cast<int64_t>(all.size())), flat);
    std::vector<Mask> masks;
    size_t off = 0;
    for (const auto& s : saliency) {
        masks.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(off),
                           flat.begin() + static_cast<std::ptrdiff_t>(off + s.size()));
        off += s.size();
    }
    return masks;
}

const PrunableWeight* first_row_not_divisible(const std::vector<PrunableWeight>& weights, int64_t m) {
    for (const auto& w : weights)
        if (w.row_size % m != 0) return &w;
    return nullptr;
}

std::vector<Mask> n_m_masks(const std::vector<std::vector<float>>& saliency, const std::vector<PrunableWeight>& weights,
                            int64_t n, int64_t m) {
    std::vector<Mask> masks;
    for (size_t t = 0; t < weights.size(); ++t) {
        const auto& s = saliency[t];
        Mask mask(s.size(), 1);
        std::vector<int64_t> idx(static_cast<size_t>(m));
        for (size_t g0 = 0; g0 + static_cast<size_t>(m) <= s.size(); g0 += static_cast<size_t>(m)) {
            std::iota(idx.begin(), idx.end(), static_cast<int64_t>(g0));
            // Most salient first; ties by position so the N kept are deterministic.
            std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
            for (int64_t i = n; i < m; ++i) mask[static_cast<size_t>(idx[static_cast<size_t>(i)])] = 0;
        }
        masks.push_back(std::move(mask));
    }
    return masks;
}

std::vector<Mask> masks_from_zeros(const std::vector<PrunableWeight>& weights) {
    std::vector<Mask> masks;
    for (const auto& w : weights) {
        const float* p = w.param.data();
        Mask m(static_cast<size_t>(w.numel()));
        for (size_t i = 0; i < m.size(); ++i) m[i] = p[i] != 0.0f;
        masks.push_back(std::move(m));
    }
    return masks;
}

void apply_masks(const std::vector<PrunableWeight>& weights, const std::vector<Mask>& masks) {
    for (size_t t = 0; t < weights.size(); ++t) {
        nn::Var p = weights[t].param;
        float* w = p.data();
        const Mask& m = masks[t];
        for (size_t i = 0; i < m.size(); ++i)
            if (!m[i]) w[i] = 0.0f;
    }
}

void mask_gradients(const std::vector<PrunableWeight>& weights, const std::vector<Mask>& masks) {
    for (size_t t = 0; t < weights.size(); ++t) {
        nn::Var p = weights[t].param;
        if (!p.has_grad()) continue;
        float* g = p.grad_buffer().data<float>();
        const Mask& m = masks[t];
        for (size_t i = 0; i < m.size(); ++i)
            if (!m[i]) g[i] = 0.0f;
    }
}

void mask_optimizer_state(nn::Optimizer& opt, const std::vector<PrunableWeight>& weights, const std::vector<Mask>& masks) {
    const auto& params = opt.params();
    for (auto& [slot, tensors] : opt.state_slots()) {
        for (size_t t = 0; t < weights.size(); ++t) {
            const float* wp = weights[t].param.data();
            for (size_t i = 0; i < params.size() && i < tensors->size(); ++i) {
                if (params[i].data() != wp) continue;
                Tensor& st = (*tensors)[i];
                if (!st.defined() || st.numel() != weights[t].numel()) continue;
                float* v = st.data<float>();
                for (size_t k = 0; k < masks[t].size(); ++k)
                    if (!masks[t][k]) v[k] = 0.0f;
            }
        }
    }
}

std::vector<LayerSparsity> measure_sparsity(const std::vector<PrunableWeight>& weights) {
    std::vector<LayerSparsity> out;
    LayerSparsity total{"total"};
    for (const auto& w : weights) {
        LayerSparsity l{w.name, w.numel()};
        const float* p = w.param.data();
        for (int64_t i = 0; i < l.weights; ++i) l.zeros += p[i] == 0.0f;
        total.weights += l.weights;
        total.zeros += l.zeros;
        out.push_back(std::move(l));
    }
    out.push_back(total);
    return out;
}

}  // namespace tern::prune
