#include "nas/proxyless.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <memory>
#include <numbers>

#include "core/error.h"
#include "hw/latency_table.h"
#include "nas/proxyless_supernet.h"
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

std::vector<int> argmax_choice(const std::vector<std::vector<double>>& alpha) {
    std::vector<int> c;
    for (const auto& a : alpha) c.push_back(static_cast<int>(std::max_element(a.begin(), a.end()) - a.begin()));
    return c;
}

// The worst budget ratio of a choice (value / budget; <= 1 fits every budget).
struct BudgetCheck {
    const Space& space;
    double width;
    const std::vector<MixedSlot>& slots;
    const SlotLatencies& lat;
    double latency_ms;
    int64_t params, macs;
    double ratio(const std::vector<int>& choice) const {
        double r = lat.of(choice) / latency_ms;
        if (params > 0 || macs > 0) {
            const ArchCost c = arch_cost(choice_arch(space, width, slots, choice));
            if (params > 0) r = std::max(r, static_cast<double>(c.params) / static_cast<double>(params));
            if (macs > 0) r = std::max(r, static_cast<double>(c.macs) / static_cast<double>(macs));
        }
        return r;
    }
};

std::vector<int> extreme_choice(const SlotLatencies& l, bool fastest) {
    std::vector<int> c;
    for (const auto& ms : l.op_ms) {
        auto it = fastest ? std::min_element(ms.begin(), ms.end()) : std::max_element(ms.begin(), ms.end());
        c.push_back(static_cast<int>(it - ms.begin()));
    }
    return c;
}

// Adam on alpha, one moment pair per entry.
struct AlphaAdam {
    std::vector<std::vector<double>> m, v;
    int64_t t = 0;
    void step(std::vector<std::vector<double>>& alpha, const std::vector<std::vector<double>>& grad, const ProxylessOptions& o) {
        if (m.empty()) {
            for (const auto& a : alpha) {
                m.emplace_back(a.size(), 0.0);
                v.emplace_back(a.size(), 0.0);
            }
        }
        ++t;
        const double c1 = 1 - std::pow(o.arch_beta1, static_cast<double>(t)), c2 = 1 - std::pow(o.arch_beta2, static_cast<double>(t));
        for (size_t s = 0; s < alpha.size(); ++s)
            for (size_t i = 0; i < alpha[s].size(); ++i) {
                const double g = grad[s][i];
                m[s][i] = o.arch_beta1 * m[s][i] + (1 - o.arch_beta1) * g;
                v[s][i] = o.arch_beta2 * v[s][i] + (1 - o.arch_beta2) * g * g;
                alpha[s][i] -= o.arch_lr * (m[s][i] / c1) / (std::sqrt(v[s][i] / c2) + 1e-8);
            }
    }
};

double mean_top_probability(const std::vector<std::vector<double>>& alpha) {
    double s = 0;
    for (const auto& a : alpha) {
        const auto p = softmax(a);
        s += *std::max_element(p.begin(), p.end());
    }
    return alpha.empty() ? 1 : s / static_cast<double>(alpha.size());
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
    TableLatency table;
    if (!o.layer_latency) table = default_table_latency();
    const LayerLatency layer_us = o.layer_latency ? o.layer_latency : table.latency;
    const LatencyEstimator measured = o.measured ? o.measured : measured_latency();

    // The table's sums for every width, calibrated to end-to-end latency on the
    // fastest and slowest architecture of the narrowest and widest width.
    std::vector<double> widths = s.widths;
    std::sort(widths.begin(), widths.end());
    std::vector<std::vector<MixedSlot>> slots_at;
    std::vector<SlotLatencies> lat_at;
    for (double w : widths) {
        slots_at.push_back(mixed_slots(s, w, o.space_name));
        lat_at.push_back(slot_latencies(s, w, slots_at.back(), layer_us, in_ch, classes));
    }
    if (table.save) table.save();
    ProxylessResult res;
    for (size_t k : {size_t{0}, widths.size() - 1}) {
        for (bool fastest : {true, false}) {
            const std::vector<int> c = extreme_choice(lat_at[k], fastest);
            res.calibration.emplace_back(lat_at[k].of(c), measured(choice_arch(s, widths[k], slots_at[k], c)));
        }
        if (widths.size() == 1) break;
    }
    res.latency_scale = hw::fit_scale(res.calibration);
    for (SlotLatencies& l : lat_at) apply_scale(l, res.latency_scale);

    // ProxylessNAS searches ops, not the width: take the widest width whose
    // fastest architecture meets the budget, so the search has room below it.
    int wi = -1;
    double fastest_ms = 0;
    for (int i = static_cast<int>(widths.size()) - 1; i >= 0 && wi < 0; --i) {
        const BudgetCheck b{s, widths[static_cast<size_t>(i)], slots_at[static_cast<size_t>(i)], lat_at[static_cast<size_t>(i)],
                            o.latency_ms, o.params, o.macs};
        const std::vector<int> c = extreme_choice(lat_at[static_cast<size_t>(i)], true);
        if (i == 0) fastest_ms = lat_at[0].of(c);
        if (b.ratio(c) <= 1) wi = i;
    }
    if (wi < 0)
        throw InputError("budget", format("no architecture of the search space meets it: the fastest is predicted at %.3f ms "
                                          "(latency table x %.2f calibration) for a target of %g ms (loosen --latency-ms / --params / --macs)",
                                          fastest_ms, res.latency_scale, o.latency_ms));
    const size_t W = static_cast<size_t>(wi);
    res.width = widths[W];
    res.slots = slots_at[W];
    const SlotLatencies& lat = lat_at[W];
    const BudgetCheck budget{s, res.width, res.slots, lat, o.latency_ms, o.params, o.macs};

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
                adam.step(res.alpha, grad, o);
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
    std::vector<int> choice = argmax_choice(res.alpha);
    res.argmax = choice_arch(s, res.width, res.slots, choice);
    while (budget.ratio(choice) > 1) {
        const double now = budget.ratio(choice);
        double best_score = std::numeric_limits<double>::infinity();
        size_t best_slot = 0;
        int best_op = -1;
        for (size_t i = 0; i < choice.size(); ++i) {
            const auto p = softmax(res.alpha[i]);
            for (size_t k = 0; k < p.size(); ++k) {
                if (static_cast<int>(k) == choice[i]) continue;
                std::vector<int> c = choice;
                c[i] = static_cast<int>(k);
                const double saved = now - budget.ratio(c);
                if (saved <= 0) continue;
                const double score = (std::log(p[static_cast<size_t>(choice[i])]) - std::log(p[k])) / saved;
                if (score < best_score) best_score = score, best_slot = i, best_op = static_cast<int>(k);
            }
        }
        if (best_op < 0) throw InputError("budget", "no single switch brings the derived architecture closer to the budget");
        choice[best_slot] = best_op;
        ++res.repairs;
    }
    res.arch = choice_arch(s, res.width, res.slots, choice);
    res.predicted_ms = lat.of(choice);
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
