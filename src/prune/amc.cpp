#include "prune/amc.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "nn/models/mobilenetv2.h"
#include "nn/train/batch_norm_recalibration.h"
#include "nn/train/trainer.h"
#include "prune/channel_prune.h"

namespace tern::prune {
namespace {

using nn::models::PrunedArch;

// The MACs that depend on width g: those that vanish when it is zero (the
// MAC count is a sum of products of neighbouring widths, so zero is a valid
// argument for the arithmetic even if not for a model).
int64_t amc_width_macs(const PrunedArch& a, size_t g, int64_t in_channels, int64_t num_classes) {
    PrunedArch z = a;
    z.widths[g] = 0;
    return nn::models::pruned_macs(a, in_channels, num_classes) - nn::models::pruned_macs(z, in_channels, num_classes);
}

// Width from a keep ratio: the allowed width nearest ratio * full.
int64_t amc_nearest_width(const std::vector<int64_t>& allowed, double ratio) {
    const double want = ratio * double(allowed.back());
    int64_t best = allowed.front();
    for (int64_t w : allowed)
        if (std::fabs(double(w) - want) < std::fabs(double(best) - want)) best = w;
    return best;
}

std::string amc_widths_text(const std::vector<int64_t>& w) {
    std::string s;
    for (size_t i = 0; i < w.size(); ++i) s += (i ? "," : "") + std::to_string(w[i]);
    return s;
}

}  // namespace

std::vector<AmcLayer> amc_layers(const PrunedArch& a, int64_t in_channels, int64_t num_classes) {
    const std::vector<std::string> names = nn::models::width_names(a.base);
    const auto& w = a.widths;
    std::vector<AmcLayer> out;
    if (a.base == "lenet300") {
        out = {{names[0], in_channels * 784, w[0], 1, 1, 1}, {names[1], w[0], w[1], 1, 1, 1}};
    } else if (a.base == "lenet5" || a.base == "lenet5_bn") {
        out = {{names[0], in_channels, w[0], 5, 1, 28},
               {names[1], w[0], w[1], 5, 1, 14},
               {names[2], w[1] * 25, w[2], 1, 1, 1},
               {names[3], w[2], w[3], 1, 1, 1}};
    } else {
        // mobilenetv2_tiny, block by block as nn/models/pruned builds it.
        const nn::models::MobileNetV2Config c = nn::models::mobilenetv2_tiny_config();
        int64_t size = 28, in = c.stem_channels;
        size_t k = 0;
        for (const auto& s : c.stages)
            for (int64_t r = 0; r < s.repeats; ++r) {
                const int64_t stride = r == 0 ? s.stride : 1;
                if (s.expansion != 1) {
                    out.push_back({names[k], in, w[k], 3, stride, size});
                    ++k;
                }
                size = (size + 2 - 3) / stride + 1;
                in = s.channels;
            }
        out.push_back({names[k], in, w[k], 1, 1, size});
    }
    for (size_t g = 0; g < out.size(); ++g) out[g].macs = amc_width_macs(a, g, in_channels, num_classes);
    return out;
}

AmcEnvironment::AmcEnvironment(const PrunedArch& start, AmcCost cost, double budget, const std::string& budget_flag,
                               int64_t width_multiple, int64_t in_channels, int64_t num_classes)
    : start_(start), arch_(start), cost_(std::move(cost)), budget_(budget), in_channels_(in_channels),
      num_classes_(num_classes), layers_(amc_layers(start, in_channels, num_classes)) {
    for (int64_t full : start.widths) {
        std::vector<int64_t> ws;
        const int64_t m = full > width_multiple ? width_multiple : 1;
        for (int64_t v = m; v <= full; v += m) ws.push_back(v);
        if (ws.back() != full) ws.push_back(full);
        allowed_.push_back(ws);
    }
    PrunedArch narrowest = start;
    for (size_t g = 0; g < allowed_.size(); ++g) narrowest.widths[g] = allowed_[g].front();
    const double least = cost_(narrowest);
    if (least > budget_)
        throw InputError(budget_flag, format("a budget of %g is below what the narrowest model (one channel per layer%s) "
                                             "reaches: %g", budget_, width_multiple > 1 ? ", or one width multiple" : "",
                                             least));
    // Static features, min-max normalized over the layers (constant ones are 0).
    const size_t n = layers_.size();
    std::vector<std::vector<double>> raw(n);
    for (size_t g = 0; g < n; ++g) {
        const AmcLayer& l = layers_[g];
        raw[g] = {double(g), double(l.in), double(l.out), double(l.size), double(l.kernel), double(l.stride), double(l.macs)};
    }
    static_features_.assign(n, std::vector<float>(raw.empty() ? 0 : raw[0].size()));
    for (size_t f = 0; n > 0 && f < raw[0].size(); ++f) {
        double lo = raw[0][f], hi = raw[0][f];
        for (size_t g = 0; g < n; ++g) lo = std::min(lo, raw[g][f]), hi = std::max(hi, raw[g][f]);
        for (size_t g = 0; g < n; ++g) static_features_[g][f] = hi > lo ? float((raw[g][f] - lo) / (hi - lo)) : 0.0f;
    }
    start_macs_ = nn::models::pruned_macs(start, in_channels, num_classes);
    reset();
}

void AmcEnvironment::reset() {
    arch_ = start_;
    layer_ = 0;
    prev_action_ = 1;
}

std::vector<float> AmcEnvironment::state() const {
    if (done()) throw Error("amc", "state() after the last layer");
    std::vector<float> s = static_features_[layer_];
    const double total = double(start_macs_);
    const double reduced = total - double(nn::models::pruned_macs(arch_, in_channels_, num_classes_));
    double rest = 0;
    for (size_t g = layer_ + 1; g < layers_.size(); ++g) rest += double(layers_[g].macs);
    s.push_back(float(std::clamp(reduced / total, 0.0, 1.0)));
    s.push_back(float(std::clamp(rest / total, 0.0, 1.0)));
    s.push_back(float(prev_action_));
    return s;
}

int64_t AmcEnvironment::max_width() const {
    if (done()) throw Error("amc", "max_width() after the last layer");
    PrunedArch a = arch_;
    for (size_t g = layer_ + 1; g < allowed_.size(); ++g) a.widths[g] = allowed_[g].front();
    const std::vector<int64_t>& ws = allowed_[layer_];
    // The narrowest width fits (the previous layer's clip, or the constructor's
    // check, saw this very architecture); find the widest that still does. The
    // cost grows with width, and the answer is checked, not assumed.
    size_t lo = 0, hi = ws.size() - 1;
    while (lo < hi) {
        const size_t mid = (lo + hi + 1) / 2;
        a.widths[layer_] = ws[mid];
        if (cost_(a) <= budget_) lo = mid;
        else hi = mid - 1;
    }
    return ws[lo];
}

int64_t AmcEnvironment::step(double keep_ratio) {
    const int64_t w = std::min(amc_nearest_width(allowed_[layer_], std::clamp(keep_ratio, 0.0, 1.0)), max_width());
    arch_.widths[layer_] = w;
    prev_action_ = double(w) / double(start_.widths[layer_]);
    ++layer_;
    return w;
}

AmcResult amc_search(nn::UnaryModule& model, const std::string& model_name, const data::ImageDataset& validation,
                     const AmcOptions& o) {
    if ((o.flops > 0) == (o.latency_ms > 0)) throw UsageError("--flops", "AMC needs one budget: --flops F or --latency-ms L");
    const int64_t in_ch = validation.channels(), classes = validation.num_classes;
    const PrunedArch start = nn::models::pruned_arch_of(model_name);
    const LatencyModel latency = o.latency ? o.latency : table_latency();
    AmcResult res;
    res.macs_before = nn::models::pruned_macs(start, in_ch, classes);
    AmcCost cost;
    double budget = 0;
    if (o.flops > 0) {
        cost = [in_ch, classes](const PrunedArch& a) { return double(nn::models::pruned_macs(a, in_ch, classes)); };
        budget = o.flops * double(res.macs_before);
    } else {
        cost = latency;
        budget = o.latency_ms;
    }
    AmcEnvironment env(start, cost, budget, o.flops > 0 ? "--flops" : "--latency-ms", o.width_multiple, in_ch, classes);
    auto log = [&](const std::string& s) {
        if (o.log) o.log(s);
    };
    const auto scores = channel_scores(model, model_name, ChannelCriterion::l1);
    if (o.bn_images > 0 && !o.bn_data) throw Error("amc", "batch-norm recalibration needs training images");
    auto narrowed = [&](const std::vector<int64_t>& widths) {
        NarrowedModel n = narrow_model(model, model_name, top_channels(scores, widths), in_ch, classes);
        if (o.bn_images > 0) nn::train::recalibrate_batch_norms(*n.model, *o.bn_data, o.bn_images);
        return n;
    };
    auto accuracy_of = [&](const std::vector<int64_t>& widths) {
        return nn::train::evaluate(*narrowed(widths).model, validation).accuracy;
    };
    DdpgOptions agent_options = o.agent;
    agent_options.seed = o.seed;
    Ddpg agent(AmcEnvironment::kStateSize, agent_options);
    std::map<std::vector<int64_t>, double> seen;  // widths -> validation accuracy (late episodes repeat)
    res.best_reward = -2;
    for (int64_t ep = 0; ep < o.episodes; ++ep) {
        const bool warm = ep < o.warmup;
        env.reset();
        std::vector<std::vector<float>> states;
        std::vector<double> actions;
        while (!env.done()) {
            states.push_back(env.state());
            actions.push_back(warm ? agent.random_action() : agent.explore(states.back()));
            env.step(actions.back());
        }
        AmcEpisode e;
        e.episode = ep;
        e.widths = env.arch().widths;
        e.cost = cost(env.arch());
        auto it = seen.find(e.widths);
        e.val_accuracy = it != seen.end() ? it->second : (seen[e.widths] = accuracy_of(e.widths));
        e.reward = e.val_accuracy - 1.0;  // -error
        for (size_t t = 0; t < states.size(); ++t) {
            const bool last = t + 1 == states.size();
            agent.observe({states[t], last ? states[t] : states[t + 1], float(actions[t]), float(e.reward), last});
        }
        if (!warm) {
            for (size_t t = 0; t < states.size(); ++t) agent.update();
            agent.end_episode();
        }
        const bool best = e.reward > res.best_reward;
        if (best) {
            res.best_reward = e.reward;
            res.best_val_accuracy = e.val_accuracy;
            res.best_episode = ep;
        }
        log(format("episode %lld/%lld%s: widths %s, %s %.6g (budget %.6g), val accuracy %.4f%s\n", (long long)(ep + 1),
                   (long long)o.episodes, warm ? " (warm-up)" : "", amc_widths_text(e.widths).c_str(),
                   o.flops > 0 ? "MACs" : "ms", e.cost, budget, e.val_accuracy, best ? " (best)" : ""));
        res.history.push_back(std::move(e));
    }
    const std::vector<int64_t>& widths = res.history.at(size_t(res.best_episode)).widths;
    NarrowedModel n = narrowed(widths);
    res.model_name = n.model_name;
    res.model = n.model;
    const PrunedArch after = nn::models::pruned_arch_of(n.model_name);
    res.macs_after = nn::models::pruned_macs(after, in_ch, classes);
    res.latency_before_ms = latency(start);
    res.latency_after_ms = latency(after);
    return res;
}

}  // namespace tern::prune
