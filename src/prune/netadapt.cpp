#include "prune/netadapt.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "nn/data/rng.h"
#include "nn/models/zoo.h"
#include "nn/ops.h"
#include "nn/optim/optimizer.h"
#include "nn/train/checkpoint.h"
#include "nn/train/trainer.h"
#include "prune/channel_prune.h"

namespace tern::prune {
namespace {

using hw::LayerConfig;
using hw::LayerKind;

LayerConfig layer(LayerKind k, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t size, int64_t pad = -1) {
    LayerConfig c = hw::layer_config(k, in, out, kernel, stride, size);
    c.pad = pad;
    return c;
}

// `steps` SGD steps on random training batches (seeded), BN in training mode.
void short_finetune(nn::UnaryModule& m, const nn::train::Recipe& r, const data::ImageDataset& train, int64_t steps,
                    uint64_t seed) {
    if (steps <= 0) return;
    nn::SgdOptions o;
    o.lr = static_cast<float>(r.optimizer.lr * 0.1);
    o.momentum = static_cast<float>(r.optimizer.momentum);
    o.weight_decay = static_cast<float>(r.optimizer.weight_decay);
    o.nesterov = r.optimizer.nesterov && o.momentum > 0;
    nn::SGD opt(m.parameters(), o);
    const int64_t bs = std::min<int64_t>(r.batch_size, train.size());
    data::Rng rng(seed);
    m.train();
    for (int64_t s = 0; s < steps; ++s) {
        Tensor x = Tensor::empty({bs, train.channels(), train.height(), train.width()});
        std::vector<int64_t> targets(static_cast<size_t>(bs));
        for (int64_t i = 0; i < bs; ++i) {
            const int64_t k = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(train.size()));
            std::memcpy(x.data<float>() + i * train.image_numel(), train.image(k), size_t(train.image_numel()) * sizeof(float));
            targets[i] = train.labels[k];
        }
        m.zero_grad();
        nn::cross_entropy(m.forward(nn::Var(x)), targets).backward();
        opt.step();
    }
    m.zero_grad();
    m.eval();
}

}  // namespace

std::vector<LayerConfig> latency_layers(const nn::models::PrunedArch& a, int64_t in_channels, int64_t num_classes) {
    const auto& w = a.widths;
    if (a.base == "lenet300")
        return {layer(LayerKind::linear, in_channels * 784, w[0], 1, 1, 1), layer(LayerKind::linear, w[0], w[1], 1, 1, 1),
                layer(LayerKind::linear, w[1], num_classes, 1, 1, 1)};
    if (a.base == "lenet5" || a.base == "lenet5_bn")
        return {layer(LayerKind::conv, in_channels, w[0], 5, 1, 28, 2), layer(LayerKind::maxpool, w[0], w[0], 2, 2, 28, 0),
                layer(LayerKind::conv, w[0], w[1], 5, 1, 14, 0), layer(LayerKind::maxpool, w[1], w[1], 2, 2, 10, 0),
                layer(LayerKind::linear, w[1] * 25, w[2], 1, 1, 1), layer(LayerKind::linear, w[2], w[3], 1, 1, 1),
                layer(LayerKind::linear, w[3], num_classes, 1, 1, 1)};
    // mobilenetv2_tiny, built as make_pruned_model builds it.
    auto m = nn::models::make_model(nn::models::pruned_model_name(a), 0, in_channels, num_classes);
    std::vector<LayerConfig> out;
    int64_t size = 28;
    for (const auto& [name, p] : m->named_parameters()) {
        if (p.rank() != 4 && p.rank() != 2) continue;
        if (p.rank() == 2) {
            out.push_back(layer(LayerKind::global_avgpool, p.dim(1), p.dim(1), 1, 1, size));
            out.push_back(layer(LayerKind::linear, p.dim(1), p.dim(0), 1, 1, 1));
            continue;
        }
        const bool dw = name.find(".dw.") != std::string::npos;
        // Stride 2 at the dw of blocks 1 and 3 (the tiny config's stage starts).
        const int64_t stride = dw && (name.rfind("blocks.1.", 0) == 0 || name.rfind("blocks.3.", 0) == 0) ? 2 : 1;
        out.push_back(dw ? layer(LayerKind::dwconv, p.dim(0), p.dim(0), p.dim(2), stride, size)
                         : layer(LayerKind::conv, p.dim(1), p.dim(0), p.dim(2), 1, size));
        size = out.back().out_size();
    }
    return out;
}

LatencyModel table_latency() {
    return [](const nn::models::PrunedArch& a) { return hw::predict_latency(latency_layers(a)) / 1000.0; };
}

NetAdaptResult netadapt(const nn::UnaryModule& model, const std::string& model_name, const nn::train::Recipe& recipe,
                        const data::ImageDataset& train, const data::ImageDataset& validation,
                        const NetAdaptOptions& o) {
    const LatencyModel latency = o.latency ? o.latency : table_latency();
    auto log = [&](const std::string& s) {
        if (o.log) o.log(s);
    };
    NetAdaptResult res;
    res.model_name = model_name;
    res.model = nn::models::make_model(model_name, 0, validation.channels(), validation.num_classes);
    nn::train::load_module_state(*res.model, nn::train::module_state(model), model_name);
    res.model->eval();
    nn::models::PrunedArch cur = nn::models::pruned_arch_of(model_name);
    res.latency_before_ms = latency(cur);
    const double budget = o.latency_ms > 0 ? o.latency_ms : o.latency_fraction * res.latency_before_ms;
    nn::models::PrunedArch smallest = cur;
    for (int64_t& w : smallest.widths) w = 1;
    const double least = latency(smallest);
    if (least > budget)
        throw InputError("--latency-ms", format("a budget of %g ms is below what the smallest model (one channel per layer) reaches: %g ms "
                                                "(latency table prediction)", budget, least));
    double lat = res.latency_before_ms;
    const double step = o.step_fraction * res.latency_before_ms;
    const std::vector<std::string> names = nn::models::width_names(cur.base);
    for (int64_t it = 1; lat > budget && it <= o.max_iterations; ++it) {
        const double target = std::max(budget, lat - step);
        const auto scores = channel_scores(*res.model, res.model_name, ChannelCriterion::l1);
        NetAdaptIteration best;
        best.val_accuracy = -1;
        std::shared_ptr<nn::UnaryModule> best_model;
        std::string best_name;
        for (size_t g = 0; g < cur.widths.size(); ++g) {
            // The widest width of layer g meeting the target (latency grows with width).
            nn::models::PrunedArch a = cur;
            int64_t lo = 1, hi = cur.widths[g] - 1;
            a.widths[g] = lo;
            if (hi < 1 || latency(a) > target) continue;
            while (lo < hi) {
                const int64_t mid = (lo + hi + 1) / 2;
                a.widths[g] = mid;
                if (latency(a) <= target) lo = mid;
                else hi = mid - 1;
            }
            a.widths[g] = lo;
            NarrowedModel n = narrow_model(*res.model, res.model_name, top_channels(scores, a.widths),
                                           validation.channels(), validation.num_classes);
            short_finetune(*n.model, recipe, train, o.short_steps, recipe.seed * 1000 + uint64_t(it));
            const double acc = nn::train::evaluate(*n.model, validation).accuracy;
            ++best.candidates;
            log("  iteration " + std::to_string(it) + " " + names[g] + " -> " + std::to_string(lo) +
                " channels: val accuracy " + std::to_string(acc) + "\n");
            if (acc > best.val_accuracy) {
                best.val_accuracy = acc;
                best.layer = names[g];
                best.kept = lo;
                best.latency_ms = latency(a);
                best_model = n.model;
                best_name = n.model_name;
            }
        }
        if (!best_model)
            throw InputError("--latency-ms", format("no layer can be narrowed further to reach %g ms", budget));
        best.iteration = it;
        res.model = best_model;
        res.model_name = best_name;
        cur = nn::models::pruned_arch_of(best_name);
        lat = best.latency_ms;
        res.history.push_back(best);
        log("iteration " + std::to_string(it) + ": " + best.layer + " -> " + std::to_string(best.kept) + ", " +
            std::to_string(lat) + " ms predicted, val accuracy " + std::to_string(best.val_accuracy) + "\n");
    }
    res.latency_after_ms = lat;
    return res;
}

}  // namespace tern::prune
