#include "prune/criteria.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "nn/ops.h"

namespace tern::prune {

std::vector<PrunableWeight> prunable_weights(const nn::Module& m) {
    std::vector<PrunableWeight> out;
    for (const auto& [name, p] : m.named_parameters()) {
        if (p.rank() != 2 && p.rank() != 4) continue;
        PrunableWeight w{name, p, p.dim(0), p.numel() / p.dim(0)};
        out.push_back(std::move(w));
    }
    return out;
}

Criterion criterion_from_name(const std::string& name) {
    if (name == "magnitude") return Criterion::magnitude;
    if (name == "taylor") return Criterion::taylor;
    if (name == "obd") return Criterion::obd;
    throw UsageError("prune", "unknown criterion '" + name + "' (known: magnitude, taylor, obd)");
}

GradientStats accumulate_gradients(nn::UnaryModule& model, const std::vector<PrunableWeight>& weights,
                                   const data::ImageDataset& data, int64_t batches, int64_t batch_size) {
    GradientStats s;
    for (const auto& w : weights) {
        s.sum.emplace_back(static_cast<size_t>(w.numel()), 0.0);
        s.sq_sum.emplace_back(static_cast<size_t>(w.numel()), 0.0);
    }
    const bool was_training = model.is_training();
    model.eval();
    model.zero_grad();
    for (int64_t b = 0; b < batches; ++b) {
        const int64_t b0 = b * batch_size;
        if (b0 >= data.size()) break;
        const int64_t n = std::min(batch_size, data.size() - b0);
        Tensor x = Tensor::empty({n, data.channels(), data.height(), data.width()});
        std::memcpy(x.data<float>(), data.image(b0), static_cast<size_t>(n * data.image_numel()) * sizeof(float));
        const std::vector<int64_t> targets(data.labels.begin() + b0, data.labels.begin() + b0 + n);
        nn::Var loss = nn::cross_entropy(model.forward(nn::Var(x)), targets);
        loss.backward();
        for (size_t i = 0; i < weights.size(); ++i) {
            nn::Var p = weights[i].param;
            if (!p.has_grad()) continue;
            const float* g = p.grad().data<float>();
            auto& sum = s.sum[i];
            auto& sq = s.sq_sum[i];
            for (size_t k = 0; k < sum.size(); ++k) {
                sum[k] += g[k];
                sq[k] += static_cast<double>(g[k]) * g[k];
            }
        }
        model.zero_grad();
        ++s.batches;
    }
    model.train(was_training);
    return s;
}

std::vector<std::vector<float>> saliency(Criterion c, const std::vector<PrunableWeight>& weights,
                                         const GradientStats* stats) {
    if (needs_gradients(c) && (!stats || stats->batches == 0 || stats->sum.size() != weights.size()))
        throw Error("prune", "taylor and obd saliencies need calibration gradients");
    std::vector<std::vector<float>> out;
    for (size_t i = 0; i < weights.size(); ++i) {
        const float* w = weights[i].param.data();
        std::vector<float> s(static_cast<size_t>(weights[i].numel()));
        const double nb = stats ? static_cast<double>(stats->batches) : 1.0;
        for (size_t k = 0; k < s.size(); ++k) {
            const double wk = w[k];
            switch (c) {
                case Criterion::magnitude: s[k] = static_cast<float>(std::fabs(wk)); break;
                case Criterion::taylor: s[k] = static_cast<float>(std::fabs(wk * stats->sum[i][k] / nb)); break;
                case Criterion::obd: s[k] = static_cast<float>(0.5 * (stats->sq_sum[i][k] / nb) * wk * wk); break;
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace tern::prune
