#include "nas/supernet_budget.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "hw/latency_table.h"
#include "nas/cost.h"

namespace tern::nas {
namespace {

// The worst budget ratio of a choice (value / budget; <= 1 fits every budget).
struct SupernetBudgetRatio {
    const Space& space;
    double width;
    const std::vector<MixedSlot>& slots;
    const SlotLatencies& lat;
    const Budget& budget;
    double ratio(const std::vector<int>& choice) const {
        double r = budget.latency_ms > 0 ? lat.of(choice) / budget.latency_ms : 0.0;
        if (budget.params > 0 || budget.macs > 0) {
            const ArchCost c = arch_cost(choice_arch(space, width, slots, choice));
            if (budget.params > 0) r = std::max(r, static_cast<double>(c.params) / static_cast<double>(budget.params));
            if (budget.macs > 0) r = std::max(r, static_cast<double>(c.macs) / static_cast<double>(budget.macs));
        }
        return r;
    }
};

std::vector<int> supernet_extreme_choice(const SlotLatencies& l, bool fastest) {
    std::vector<int> c;
    for (const auto& ms : l.op_ms) {
        auto it = fastest ? std::min_element(ms.begin(), ms.end()) : std::max_element(ms.begin(), ms.end());
        c.push_back(static_cast<int>(it - ms.begin()));
    }
    return c;
}

}  // namespace

SupernetSetup supernet_setup(const Space& s, int64_t in_channels, int64_t num_classes, const SupernetSearchCommon& o) {
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
        lat_at.push_back(slot_latencies(s, w, slots_at.back(), layer_us, in_channels, num_classes));
    }
    if (table.save) table.save();
    SupernetSetup out;
    for (size_t k : {size_t{0}, widths.size() - 1}) {
        for (bool fastest : {true, false}) {
            const std::vector<int> c = supernet_extreme_choice(lat_at[k], fastest);
            out.calibration.emplace_back(lat_at[k].of(c), measured(choice_arch(s, widths[k], slots_at[k], c)));
        }
        if (widths.size() == 1) break;
    }
    out.latency_scale = hw::fit_scale(out.calibration);
    for (SlotLatencies& l : lat_at) apply_scale(l, out.latency_scale);

    // The widest width whose fastest architecture meets the budget, so the
    // search has room below it.
    int wi = -1;
    double fastest_ms = 0;
    for (int i = static_cast<int>(widths.size()) - 1; i >= 0 && wi < 0; --i) {
        const auto k = static_cast<size_t>(i);
        const SupernetBudgetRatio b{s, widths[k], slots_at[k], lat_at[k], o};
        const std::vector<int> c = supernet_extreme_choice(lat_at[k], true);
        if (i == 0) fastest_ms = lat_at[0].of(c);
        if (b.ratio(c) <= 1) wi = i;
    }
    if (wi < 0) {
        if (o.latency_ms > 0)
            throw InputError("budget", format("no architecture of the search space meets it: the fastest is predicted at %.3f ms "
                                              "(latency table x %.2f calibration) for a target of %g ms (loosen --latency-ms / --params / --macs)",
                                              fastest_ms, out.latency_scale, o.latency_ms));
        throw InputError("budget", "no architecture of the search space meets it: the fastest choice at every width is over "
                                   "--params / --macs (loosen them)");
    }
    const auto W = static_cast<size_t>(wi);
    out.width = widths[W];
    out.slots = slots_at[W];
    out.lat = lat_at[W];
    return out;
}

void AlphaAdam::step(std::vector<std::vector<double>>& alpha, const std::vector<std::vector<double>>& grad,
                     const AlphaAdamOptions& o) {
    if (m.empty()) {
        for (const auto& a : alpha) {
            m.emplace_back(a.size(), 0.0);
            v.emplace_back(a.size(), 0.0);
        }
    }
    ++t;
    const double c1 = 1 - std::pow(o.beta1, static_cast<double>(t)), c2 = 1 - std::pow(o.beta2, static_cast<double>(t));
    for (size_t s = 0; s < alpha.size(); ++s)
        for (size_t i = 0; i < alpha[s].size(); ++i) {
            const double g = grad[s][i] + o.weight_decay * alpha[s][i];
            m[s][i] = o.beta1 * m[s][i] + (1 - o.beta1) * g;
            v[s][i] = o.beta2 * v[s][i] + (1 - o.beta2) * g * g;
            alpha[s][i] -= o.lr * (m[s][i] / c1) / (std::sqrt(v[s][i] / c2) + 1e-8);
        }
}

std::vector<int> argmax_choice(const std::vector<std::vector<double>>& alpha) {
    std::vector<int> c;
    for (const auto& a : alpha) c.push_back(static_cast<int>(std::max_element(a.begin(), a.end()) - a.begin()));
    return c;
}

double mean_top_probability(const std::vector<std::vector<double>>& alpha) {
    double s = 0;
    for (const auto& a : alpha) {
        const auto p = softmax(a);
        s += *std::max_element(p.begin(), p.end());
    }
    return alpha.empty() ? 1 : s / static_cast<double>(alpha.size());
}

std::vector<std::vector<double>> alpha_softmax(const std::vector<std::vector<double>>& alpha) {
    std::vector<std::vector<double>> p;
    for (const auto& a : alpha) p.push_back(softmax(a));
    return p;
}

std::string candidate_name(const CandidateOp& op) {
    return op.skip ? std::string("skip") : format("k%llde%lld", (long long)op.kernel, (long long)op.expansion);
}

std::string alpha_report(const std::string& tag, const std::vector<MixedSlot>& slots,
                         const std::vector<std::vector<double>>& alpha) {
    std::string out;
    for (size_t i = 0; i < slots.size() && i < alpha.size(); ++i) {
        const std::vector<double> p = softmax(alpha[i]);
        out += format("%s: softmax(alpha) stage %zu block %zu:", tag.c_str(), slots[i].stage, slots[i].index);
        for (size_t k = 0; k < p.size() && k < slots[i].ops.size(); ++k)
            out += format(" %s %.3f", candidate_name(slots[i].ops[k]).c_str(), p[k]);
        const auto top = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
        out += " -> " + candidate_name(slots[i].ops[top]) + "\n";
    }
    return out;
}

DerivedArch derive_within_budget(const Space& s, const SupernetSetup& setup, const Budget& b,
                                 const std::vector<std::vector<double>>& alpha) {
    const SupernetBudgetRatio budget{s, setup.width, setup.slots, setup.lat, b};
    DerivedArch d;
    d.choice = argmax_choice(alpha);
    d.argmax = choice_arch(s, setup.width, setup.slots, d.choice);
    while (budget.ratio(d.choice) > 1) {
        const double now = budget.ratio(d.choice);
        double best_score = std::numeric_limits<double>::infinity();
        size_t best_slot = 0;
        int best_op = -1;
        for (size_t i = 0; i < d.choice.size(); ++i) {
            const auto p = softmax(alpha[i]);
            for (size_t k = 0; k < p.size(); ++k) {
                if (static_cast<int>(k) == d.choice[i]) continue;
                std::vector<int> c = d.choice;
                c[i] = static_cast<int>(k);
                const double saved = now - budget.ratio(c);
                if (saved <= 0) continue;
                const double score = (std::log(p[static_cast<size_t>(d.choice[i])]) - std::log(p[k])) / saved;
                if (score < best_score) best_score = score, best_slot = i, best_op = static_cast<int>(k);
            }
        }
        if (best_op < 0) throw InputError("budget", "no single switch brings the derived architecture closer to the budget");
        d.choice[best_slot] = best_op;
        ++d.repairs;
    }
    d.arch = choice_arch(s, setup.width, setup.slots, d.choice);
    d.predicted_ms = setup.lat.of(d.choice);
    return d;
}

}  // namespace tern::nas
