#include "nas/darts.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "nas/proxyless_supernet.h"
#include "nas/supernet_budget.h"
#include "nn/data/batch_loader.h"
#include "nn/data/rng.h"
#include "nn/ops.h"
#include "nn/optim/optimizer.h"

namespace tern::nas {
namespace {

using nn::Var;

void check_darts_options(const DartsOptions& o) {
    if (o.latency_ms < 0 || !std::isfinite(o.latency_ms)) throw UsageError("--latency-ms", "must be positive (or absent)");
    if (o.params < 0 || o.macs < 0) throw UsageError("budget", "--params and --macs must be positive");
    if (o.search_epochs < 1 || o.search_epochs > 1000) throw UsageError("--search-epochs", "must be in [1, 1000]");
    if (o.max_steps < 0) throw UsageError("--max-evals", "must be positive");
    if (o.batch_size < 1) throw UsageError("batch size", "must be positive");
    if (!(o.warmup_fraction >= 0 && o.warmup_fraction < 1)) throw UsageError("warmup", "fraction must be in [0, 1)");
    if (!(o.beta >= 0) || !(o.arch_lr > 0) || !(o.weight_lr > 0) || !(o.arch_weight_decay >= 0))
        throw UsageError("darts", "beta >= 0, positive rates and a non-negative alpha weight decay needed");
}

Var darts_alpha_leaf(const std::vector<double>& a, bool requires_grad) {
    std::vector<float> v(a.begin(), a.end());
    return Var(Tensor::from_floats({static_cast<int64_t>(v.size())}, v), requires_grad);
}

// softmax(alpha) per slot as constants (weight steps: alpha does not move).
std::vector<Var> darts_fixed_weights(const std::vector<std::vector<double>>& alpha) {
    std::vector<Var> w;
    for (const auto& a : alpha) w.push_back(nn::softmax(darts_alpha_leaf(a, false)));
    return w;
}

}  // namespace

std::vector<std::vector<double>> darts_alpha_gradient(Supernet& net, const std::vector<std::vector<double>>& alpha,
                                                      const Tensor& images, const std::vector<int64_t>& targets, double* ce) {
    std::vector<Var> leaves, weights;
    for (const auto& a : alpha) {
        leaves.push_back(darts_alpha_leaf(a, true));
        weights.push_back(nn::softmax(leaves.back()));
    }
    // Only alpha's gradient is wanted: the weights' would be thrown away.
    net.set_weights_require_grad(false);
    Var loss;
    try {
        loss = nn::cross_entropy(net.forward_mixed(Var(images), weights), targets);
        loss.backward();
    } catch (...) {
        net.set_weights_require_grad(true);
        throw;
    }
    net.set_weights_require_grad(true);
    if (ce) *ce = loss.item();
    std::vector<std::vector<double>> grad;
    for (const Var& l : leaves) {
        grad.emplace_back(static_cast<size_t>(l.value().numel()), 0.0);
        if (!l.has_grad()) continue;
        const float* g = l.grad().data<float>();
        for (size_t k = 0; k < grad.back().size(); ++k) grad.back()[k] = g[k];
    }
    return grad;
}

DartsResult darts_search(const Space& s, const data::ImageDataset& train, const data::ImageDataset& validation,
                         const DartsOptions& o) {
    check_darts_options(o);
    if (train.size() < 1 || validation.size() < 1) throw InputError("darts", "needs training and validation images");
    const double cpu0 = process_cpu_seconds();
    const auto wall0 = std::chrono::steady_clock::now();
    auto log = [&](const std::string& line) {
        if (o.log) o.log(line);
    };
    const int64_t in_ch = train.channels(), classes = train.num_classes;
    const SupernetSetup setup = supernet_setup(s, in_ch, classes, o);
    DartsResult res;
    res.calibration = setup.calibration;
    res.latency_scale = setup.latency_scale;
    res.width = setup.width;
    res.slots = setup.slots;
    const SlotLatencies& lat = setup.lat;
    const bool latency_term = o.latency_ms > 0;

    Supernet net(s, res.width, res.slots, in_ch, classes, o.seed);
    nn::SgdOptions so;
    so.lr = o.weight_lr;
    so.momentum = o.momentum;
    so.weight_decay = o.weight_decay;
    nn::SGD weight_opt(net.parameters(), so);  // every op runs every step, so one optimizer over all
    for (const MixedSlot& slot : res.slots) res.alpha.emplace_back(slot.ops.size(), 0.0);
    AlphaAdam adam;
    const AlphaAdamOptions adam_options{o.arch_lr, o.arch_beta1, o.arch_beta2, o.arch_weight_decay};

    data::BatchLoader train_loader = data::borrowed_foreground_loader(train, o.batch_size, o.seed);
    data::BatchLoader val_loader = data::borrowed_foreground_loader(validation, o.batch_size, data::mix_seed(o.seed, 2));
    int64_t val_epoch = 0;
    val_loader.start_epoch(val_epoch);

    const int64_t per_epoch = train_loader.batches_per_epoch();
    int64_t total = per_epoch * o.search_epochs;
    if (o.max_steps > 0) total = std::min(total, o.max_steps);
    const auto warmup = static_cast<int64_t>(std::floor(o.warmup_fraction * static_cast<double>(total)));
    size_t candidates = 0;
    for (const MixedSlot& slot : res.slots) candidates += slot.ops.size();
    log(format("darts: width %g, %zu mixed blocks (%zu candidate ops, all run every step), latency table x %.2f; "
               "%lld steps (%lld weights only), %s\n",
               res.width, res.slots.size(), candidates, res.latency_scale, (long long)total, (long long)warmup,
               latency_term ? format("target %g ms", o.latency_ms).c_str() : "no latency term"));

    int64_t step = 0;
    for (int64_t epoch = 0; step < total; ++epoch) {
        train_loader.start_epoch(epoch);
        data::Batch batch;
        while (step < total && train_loader.next(batch)) {
            ProxylessStep row;
            row.step = step + 1;
            row.epoch = epoch + 1;
            net.train(true);
            if (step >= warmup) {
                // Alpha step on a validation batch (first order: the weights as they are).
                data::Batch vb;
                if (!val_loader.next(vb)) {
                    val_loader.start_epoch(++val_epoch);
                    val_loader.next(vb);
                }
                std::vector<std::vector<double>> grad = darts_alpha_gradient(net, res.alpha, vb.images, vb.targets(), &row.val_ce);
                if (!std::isfinite(row.val_ce))
                    throw InputError("search", format("supernet alpha step diverged at step %lld", (long long)row.step));
                row.loss = row.val_ce;
                if (latency_term) {
                    const ExpectedLatency el = expected_latency(lat, res.alpha);
                    const LatencyLoss ll = latency_loss(row.val_ce, el.ms, o.latency_ms, o.beta);
                    row.loss = ll.loss;
                    for (size_t i = 0; i < grad.size(); ++i)
                        for (size_t k = 0; k < grad[i].size(); ++k) grad[i][k] = ll.d_ce * grad[i][k] + ll.d_latency * el.grad[i][k];
                }
                adam.step(res.alpha, grad, adam_options);
                row.arch_step = true;
            }
            // Weight step on a training batch, alpha fixed.
            row.lr = 0.5 * o.weight_lr * (1 + std::cos(std::numbers::pi * static_cast<double>(step) / static_cast<double>(total)));
            weight_opt.zero_grad();
            Var ce = nn::cross_entropy(net.forward_mixed(Var(batch.images), darts_fixed_weights(res.alpha)), batch.targets());
            row.train_ce = ce.item();
            if (!std::isfinite(row.train_ce)) throw InputError("search", format("supernet training diverged at step %lld", (long long)row.step));
            ce.backward();
            weight_opt.set_lr(static_cast<float>(row.lr));
            weight_opt.step();

            row.expected_ms = expected_latency(lat, res.alpha).ms;
            row.argmax_ms = lat.of(argmax_choice(res.alpha));
            row.mean_top_p = mean_top_probability(res.alpha);
            res.steps.push_back(row);
            ++step;
            if (step == total || step % std::max<int64_t>(1, total / 10) == 0)
                log(format("[darts %lld/%lld] train CE %.3f%s, E[lat] %.3f ms, argmax %.3f ms, mean top p %.3f\n", (long long)step,
                           (long long)total, row.train_ce, row.arch_step ? format(", val CE %.3f", row.val_ce).c_str() : "",
                           row.expected_ms, row.argmax_ms, row.mean_top_p));
        }
    }

    const DerivedArch derived = derive_within_budget(s, setup, o, res.alpha);
    res.argmax = derived.argmax;
    res.arch = derived.arch;
    res.repairs = derived.repairs;
    res.predicted_ms = derived.predicted_ms;
    log(alpha_report("darts", res.slots, res.alpha));
    log(format("darts: derived %s (predicted %.3f ms%s)\n", arch_to_string(res.arch).c_str(), res.predicted_ms,
               res.repairs ? format(", %lld switch(es) from the argmax to meet the budget", (long long)res.repairs).c_str() : ""));
    res.cpu_seconds = process_cpu_seconds() - cpu0;
    res.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    return res;
}

}  // namespace tern::nas
