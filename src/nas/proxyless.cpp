#include "nas/proxyless.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
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

void check_proxyless_options(const ProxylessOptions& o) {
    if (!(o.latency_ms > 0) || !std::isfinite(o.latency_ms))
        throw UsageError("--latency-ms", "the proxyless strategy needs a latency target (--latency-ms X, X > 0)");
    if (o.params < 0 || o.macs < 0) throw UsageError("budget", "--params and --macs must be positive");
    if (o.search_epochs < 1 || o.search_epochs > 1000) throw UsageError("--search-epochs", "must be in [1, 1000]");
    if (o.max_steps < 0) throw UsageError("--max-evals", "must be positive");
    if (o.batch_size < 1) throw UsageError("batch size", "must be positive");
    if (!(o.warmup_fraction >= 0 && o.warmup_fraction < 1)) throw UsageError("warmup", "fraction must be in [0, 1)");
    if (!(o.beta >= 0) || !(o.arch_lr > 0) || !(o.weight_lr > 0)) throw UsageError("proxyless", "beta >= 0 and positive rates needed");
}

// Draws an index from the probabilities `p` (entries at `excluded` count as 0).
int draw(const std::vector<double>& p, data::Rng& rng, int excluded = -1) {
    double total = 0;
    for (size_t i = 0; i < p.size(); ++i)
        if (static_cast<int>(i) != excluded) total += p[i];
    double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53 * total;
    int last = -1;
    for (size_t i = 0; i < p.size(); ++i) {
        if (static_cast<int>(i) == excluded) continue;
        last = static_cast<int>(i);
        if ((u -= p[i]) < 0) return last;
    }
    return last;  // rounding at the top end
}

}  // namespace

double process_cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

ProxylessResult proxyless_search(const Space& s, const data::ImageDataset& train, const data::ImageDataset& validation,
                                 const ProxylessOptions& o) {
    check_proxyless_options(o);
    if (train.size() < 1 || validation.size() < 1) throw InputError("proxyless", "needs training and validation images");
    const double cpu0 = process_cpu_seconds();
    const auto wall0 = std::chrono::steady_clock::now();
    auto log = [&](const std::string& line) {
        if (o.log) o.log(line);
    };
    const int64_t in_ch = train.channels(), classes = train.num_classes;
    const SupernetSetup setup = supernet_setup(s, in_ch, classes, o);
    ProxylessResult res;
    res.calibration = setup.calibration;
    res.latency_scale = setup.latency_scale;
    res.width = setup.width;
    res.slots = setup.slots;
    const SlotLatencies& lat = setup.lat;

    Supernet net(s, res.width, res.slots, in_ch, classes, o.seed);
    nn::SgdOptions so;
    so.lr = o.weight_lr;
    so.momentum = o.momentum;
    so.weight_decay = o.weight_decay;
    nn::SGD shared_opt(net.shared_parameters(), so);
    std::vector<std::vector<std::unique_ptr<nn::SGD>>> op_opt(res.slots.size());
    for (size_t i = 0; i < res.slots.size(); ++i)
        for (size_t k = 0; k < res.slots[i].ops.size(); ++k)
            op_opt[i].push_back(std::make_unique<nn::SGD>(net.op_parameters(i, static_cast<int>(k)), so));
    res.alpha.clear();
    for (const MixedSlot& slot : res.slots) res.alpha.emplace_back(slot.ops.size(), 0.0);
    AlphaAdam adam;
    const AlphaAdamOptions adam_options{o.arch_lr, o.arch_beta1, o.arch_beta2, 0.0};

    data::BatchLoader train_loader = data::borrowed_foreground_loader(train, o.batch_size, o.seed);
    data::BatchLoader val_loader = data::borrowed_foreground_loader(validation, o.batch_size, data::mix_seed(o.seed, 2));
    int64_t val_epoch = 0;
    val_loader.start_epoch(val_epoch);
    data::Rng rng(data::mix_seed(o.seed, 3));

    const int64_t per_epoch = train_loader.batches_per_epoch();
    int64_t total = per_epoch * o.search_epochs;
    if (o.max_steps > 0) total = std::min(total, o.max_steps);
    const auto warmup = static_cast<int64_t>(std::floor(o.warmup_fraction * static_cast<double>(total)));
    log(format("proxyless: width %g, %zu mixed blocks, latency table x %.2f (fitted on %zu measured architectures); "
               "%lld steps (%lld weights only), target %g ms\n",
               res.width, res.slots.size(), res.latency_scale, res.calibration.size(), (long long)total, (long long)warmup,
               o.latency_ms));

    int64_t step = 0;
    for (int64_t epoch = 0; step < total; ++epoch) {
        train_loader.start_epoch(epoch);
        data::Batch batch;
        while (step < total && train_loader.next(batch)) {
            ProxylessStep row;
            row.step = step + 1;
            row.epoch = epoch + 1;
            // Weight step: one path drawn from softmax(alpha) per slot.
            row.lr = 0.5 * o.weight_lr * (1 + std::cos(std::numbers::pi * static_cast<double>(step) / static_cast<double>(total)));
            std::vector<int> path;
            for (const auto& a : res.alpha) path.push_back(draw(softmax(a), rng));
            net.train(true);
            shared_opt.zero_grad();
            for (size_t i = 0; i < path.size(); ++i) op_opt[i][static_cast<size_t>(path[i])]->zero_grad();
            Var ce = nn::cross_entropy(net.forward(Var(batch.images), path), batch.targets());
            row.train_ce = ce.item();
            if (!std::isfinite(row.train_ce)) throw InputError("search", format("supernet training diverged at step %lld", (long long)row.step));
            ce.backward();
            shared_opt.set_lr(static_cast<float>(row.lr));
            shared_opt.step();
            for (size_t i = 0; i < path.size(); ++i) {
                auto& opt = *op_opt[i][static_cast<size_t>(path[i])];
                opt.set_lr(static_cast<float>(row.lr));
                opt.step();
            }

            if (step >= warmup) {
                // Alpha step: two paths per slot, binary gates, on a validation batch.
                data::Batch vb;
                if (!val_loader.next(vb)) {
                    val_loader.start_epoch(++val_epoch);
                    val_loader.next(vb);
                }
                std::vector<GatedPair> pairs(res.slots.size());
                std::vector<std::pair<double, double>> renorm(res.slots.size());  // p' of active, other
                for (size_t i = 0; i < pairs.size(); ++i) {
                    const auto p = softmax(res.alpha[i]);
                    if (p.size() < 2) continue;
                    const int a = draw(p, rng), b = draw(p, rng, a);
                    const double pa = p[static_cast<size_t>(a)] / (p[static_cast<size_t>(a)] + p[static_cast<size_t>(b)]);
                    const bool first = static_cast<double>(rng.next() >> 11) * 0x1.0p-53 < pa;
                    pairs[i].active = first ? a : b;
                    pairs[i].other = first ? b : a;
                    renorm[i] = first ? std::make_pair(pa, 1 - pa) : std::make_pair(1 - pa, pa);
                }
                net.set_weights_require_grad(false);
                Var vce = nn::cross_entropy(net.forward_gated(Var(vb.images), pairs), vb.targets());
                vce.backward();
                net.set_weights_require_grad(true);
                row.arch_step = true;
                row.val_ce = vce.item();
                const ExpectedLatency el = expected_latency(lat, res.alpha);
                const LatencyLoss ll = latency_loss(row.val_ce, el.ms, o.latency_ms, o.beta);
                row.loss = ll.loss;
                std::vector<std::vector<double>> grad = el.grad;
                for (size_t i = 0; i < grad.size(); ++i)
                    for (double& g : grad[i]) g *= ll.d_latency;
                std::vector<std::pair<double, double>> before(res.slots.size());  // the two alphas before the step
                for (size_t i = 0; i < pairs.size(); ++i) {
                    const GatedPair& gp = pairs[i];
                    if (gp.other < 0) continue;
                    // dL/dalpha_i = sum_j dL/dg_j p'_j (delta_ij - p'_i) over the two drawn ops.
                    const double ga = gp.gate_active.has_grad() ? gp.gate_active.grad().data<float>()[0] : 0.0;
                    const double gb = gp.gate_other.has_grad() ? gp.gate_other.grad().data<float>()[0] : 0.0;
                    const double pa = renorm[i].first, pb = renorm[i].second;
                    grad[i][static_cast<size_t>(gp.active)] += ll.d_ce * (ga * pa * (1 - pa) - gb * pb * pa);
                    grad[i][static_cast<size_t>(gp.other)] += ll.d_ce * (gb * pb * (1 - pb) - ga * pa * pb);
                    before[i] = {res.alpha[i][static_cast<size_t>(gp.active)], res.alpha[i][static_cast<size_t>(gp.other)]};
                }
                adam.step(res.alpha, grad, adam_options);
                for (size_t i = 0; i < pairs.size(); ++i) {
                    const GatedPair& gp = pairs[i];
                    if (gp.other < 0) continue;
                    // The paper's rescaling: the drawn pair keeps its joint mass.
                    double& a = res.alpha[i][static_cast<size_t>(gp.active)];
                    double& b = res.alpha[i][static_cast<size_t>(gp.other)];
                    const double hi = std::max({a, b, before[i].first, before[i].second});
                    const double offset = std::log((std::exp(a - hi) + std::exp(b - hi)) /
                                                   (std::exp(before[i].first - hi) + std::exp(before[i].second - hi)));
                    a -= offset;
                    b -= offset;
                }
            }
            row.expected_ms = expected_latency(lat, res.alpha).ms;
            row.argmax_ms = lat.of(argmax_choice(res.alpha));
            row.mean_top_p = mean_top_probability(res.alpha);
            res.steps.push_back(row);
            ++step;
            if (step == total || step % std::max<int64_t>(1, total / 10) == 0)
                log(format("[proxyless %lld/%lld] train CE %.3f%s, E[lat] %.3f ms, argmax %.3f ms, mean top p %.2f\n",
                           (long long)step, (long long)total, row.train_ce,
                           row.arch_step ? format(", val CE %.3f", row.val_ce).c_str() : "", row.expected_ms, row.argmax_ms,
                           row.mean_top_p));
        }
    }

    // Derive: the argmax op per slot, then the cheapest repairs until it fits.
    const DerivedArch derived = derive_within_budget(s, setup, o, res.alpha);
    res.argmax = derived.argmax;
    res.arch = derived.arch;
    res.repairs = derived.repairs;
    res.predicted_ms = derived.predicted_ms;
    log(format("proxyless: derived %s (predicted %.3f ms%s)\n", arch_to_string(res.arch).c_str(), res.predicted_ms,
               res.repairs ? format(", %lld switch(es) from the argmax to meet the budget", (long long)res.repairs).c_str() : ""));
    res.cpu_seconds = process_cpu_seconds() - cpu0;
    res.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    return res;
}

std::string proxyless_csv(const std::vector<ProxylessStep>& steps) {
    std::string s = "step,epoch,lr,train_ce,arch_step,val_ce,loss,expected_latency_ms,argmax_latency_ms,mean_top_p\n";
    for (const ProxylessStep& r : steps)
        s += format("%lld,%lld,%.6g,%.6g,%d,%s,%s,%.6g,%.6g,%.4f\n", (long long)r.step, (long long)r.epoch, r.lr, r.train_ce,
                    r.arch_step ? 1 : 0, r.arch_step ? format("%.6g", r.val_ce).c_str() : "",
                    r.arch_step ? format("%.6g", r.loss).c_str() : "", r.expected_ms, r.argmax_ms, r.mean_top_p);
    return s;
}

}  // namespace tern::nas
