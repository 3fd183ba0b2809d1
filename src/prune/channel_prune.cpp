#include "prune/channel_prune.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "core/error.h"
#include "nn/models/zoo.h"
#include "nn/ops.h"
#include "nn/train/checkpoint.h"

namespace tern::prune {
namespace {

std::vector<std::string> batch_norm_tensors(const std::string& bn) {
    return {bn + ".weight", bn + ".bias", bn + ".running_mean", bn + ".running_var"};
}

ChannelGroup layer_group(const std::string& name, const std::string& layer, const std::string& next,
                         const std::string& bn = "") {
    ChannelGroup g{name, 0, {layer + ".weight", layer + ".bias"}, {next + ".weight"}, bn.empty() ? "" : bn + ".weight"};
    if (!bn.empty())
        for (auto& t : batch_norm_tensors(bn)) g.outputs.push_back(t);
    return g;
}

const Tensor& find_tensor(const std::map<std::string, Tensor>& state, const std::string& name) {
    auto it = state.find(name);
    if (it == state.end()) throw InputError("model", "channel pruning: tensor '" + name + "' is missing");
    return it->second;
}

}  // namespace

std::vector<ChannelGroup> channel_groups(const std::string& model_name) {
    const nn::models::PrunedArch a = nn::models::pruned_arch_of(model_name);
    std::vector<ChannelGroup> groups;
    if (a.base == "lenet300") {
        groups = {layer_group("fc1", "fc1", "fc2"), layer_group("fc2", "fc2", "fc3")};
    } else if (a.base == "lenet5" || a.base == "lenet5_bn") {
        const bool bn = a.base == "lenet5_bn";
        // conv2's channels reach fc1 through the flatten: 5 x 5 columns each.
        groups = {layer_group("conv1", "conv1", "conv2", bn ? "bn1" : ""), layer_group("conv2", "conv2", "fc1", bn ? "bn2" : ""),
                  layer_group("fc1", "fc1", "fc2"), layer_group("fc2", "fc2", "fc3")};
    } else {
        for (const std::string& name : nn::models::width_names(a.base)) {
            if (name == "head") {
                groups.push_back(layer_group("head", "head", "classifier", "head_bn"));
                continue;
            }
            // blocks.N.hidden: expand conv + BN, the depthwise conv + BN, the project conv's inputs.
            const std::string b = name.substr(0, name.size() - std::string(".hidden").size());
            ChannelGroup g{name, 0, {b + ".expand.weight"}, {b + ".project.weight"}, b + ".dw_bn.weight"};
            for (auto& t : batch_norm_tensors(b + ".expand_bn")) g.outputs.push_back(t);
            g.outputs.push_back(b + ".dw.weight");
            for (auto& t : batch_norm_tensors(b + ".dw_bn")) g.outputs.push_back(t);
            groups.push_back(std::move(g));
        }
    }
    for (size_t i = 0; i < groups.size(); ++i) groups[i].channels = a.widths[i];
    return groups;
}

ChannelCriterion channel_criterion(const std::string& name) {
    if (name == "l1") return ChannelCriterion::l1;
    if (name == "bn") return ChannelCriterion::bn;
    if (name == "taylor") return ChannelCriterion::taylor;
    if (name == "regression") return ChannelCriterion::regression;
    throw UsageError("--method", "unknown channel criterion '" + name + "' (known: l1, bn, taylor, regression, netadapt)");
}

std::vector<std::vector<double>> channel_scores(nn::UnaryModule& model, const std::string& model_name,
                                                ChannelCriterion c, const data::ImageDataset* data, int64_t batches,
                                                int64_t batch_size) {
    if (c == ChannelCriterion::regression)
        throw UsageError("--method", "regression chooses channels by LASSO with a refit, not by a per-channel score");
    const std::vector<ChannelGroup> groups = channel_groups(model_name);
    std::map<std::string, Tensor> state;
    for (auto& t : nn::train::module_state(model)) state[t.name] = t.tensor;
    std::vector<std::vector<double>> scores;
    for (const ChannelGroup& g : groups) {
        std::vector<double> s(static_cast<size_t>(g.channels), 0.0);
        const bool use_bn = c == ChannelCriterion::bn && !g.batch_norm.empty();
        const Tensor& w = find_tensor(state, use_bn ? g.batch_norm : g.outputs.front());
        const int64_t inner = w.numel() / g.channels;
        const float* p = w.data<float>();
        for (int64_t ch = 0; ch < g.channels; ++ch)
            for (int64_t k = 0; k < inner; ++k) s[ch] += std::fabs(p[ch * inner + k]);
        scores.push_back(std::move(s));
    }
    if (c != ChannelCriterion::taylor) return scores;
    if (!data || data->size() == 0) throw InputError("taylor", "the Taylor criterion needs calibration images");
    // Molchanov et al. 2019: a channel's importance is the squared first-order
    // loss change of zeroing all its parameters, averaged over batches.
    std::map<std::string, nn::Var> params;
    for (auto& [name, v] : model.named_parameters()) params[name] = v;
    for (auto& s : scores) std::fill(s.begin(), s.end(), 0.0);
    const bool was_training = model.is_training();
    model.eval();
    model.zero_grad();
    int64_t used = 0;
    for (int64_t b = 0; b < batches && b * batch_size < data->size(); ++b, ++used) {
        const int64_t b0 = b * batch_size, n = std::min(batch_size, data->size() - b0);
        Tensor x = Tensor::empty({n, data->channels(), data->height(), data->width()});
        std::memcpy(x.data<float>(), data->image(b0), static_cast<size_t>(n * data->image_numel()) * sizeof(float));
        const std::vector<int64_t> targets(data->labels.begin() + b0, data->labels.begin() + b0 + n);
        nn::cross_entropy(model.forward(nn::Var(x)), targets).backward();
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            std::vector<double> dot(static_cast<size_t>(groups[gi].channels), 0.0);
            for (const std::string& name : groups[gi].outputs) {
                auto it = params.find(name);
                if (it == params.end() || !it->second.has_grad()) continue;  // buffers, absent biases
                const float* w = it->second.value().data<float>();
                const float* g = it->second.grad().data<float>();
                const int64_t inner = it->second.numel() / groups[gi].channels;
                for (int64_t ch = 0; ch < groups[gi].channels; ++ch)
                    for (int64_t k = 0; k < inner; ++k) dot[ch] += double(w[ch * inner + k]) * g[ch * inner + k];
            }
            for (size_t ch = 0; ch < dot.size(); ++ch) scores[gi][ch] += dot[ch] * dot[ch];
        }
        model.zero_grad();
    }
    for (auto& s : scores)
        for (double& v : s) v /= double(std::max<int64_t>(used, 1));
    if (was_training) model.train();
    return scores;
}

std::vector<std::vector<int64_t>> top_channels(const std::vector<std::vector<double>>& scores,
                                               const std::vector<int64_t>& keep) {
    std::vector<std::vector<int64_t>> kept;
    for (size_t g = 0; g < scores.size(); ++g) {
        std::vector<int64_t> order(scores[g].size());
        std::iota(order.begin(), order.end(), 0);
        // Ties keep the lower index, so equal scores prune deterministically.
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[g][a] > scores[g][b]; });
        order.resize(static_cast<size_t>(std::clamp<int64_t>(keep[g], 0, static_cast<int64_t>(order.size()))));
        std::sort(order.begin(), order.end());
        kept.push_back(std::move(order));
    }
    return kept;
}

std::vector<NamedTensor> slice_channels(const std::vector<NamedTensor>& state, const std::vector<ChannelGroup>& groups,
                                        const std::vector<std::vector<int64_t>>& kept) {
    if (kept.size() != groups.size()) throw InputError("channel pruning", "one kept-channel list per group is needed");
    std::map<std::string, Tensor> t;
    for (const auto& nt : state) t[nt.name] = nt.tensor;
    for (size_t gi = 0; gi < groups.size(); ++gi) {
        const ChannelGroup& g = groups[gi];
        const auto& k = kept[gi];
        if (k.empty())
            throw InputError(g.name, "pruning every channel of the layer leaves nothing for the next layer to read");
        for (size_t i = 0; i < k.size(); ++i)
            if (k[i] < 0 || k[i] >= g.channels || (i && k[i] <= k[i - 1]))
                throw InputError(g.name, "kept channels must be distinct, sorted and in 0.." + std::to_string(g.channels - 1));
        const int64_t n = static_cast<int64_t>(k.size());
        // A tensor as (outer, channels, inner): outputs have outer 1, inputs outer = dim 0.
        auto slice = [&](const std::string& name, bool as_output) {
            auto it = t.find(name);
            if (it == t.end()) return;  // an absent bias
            const Tensor& src = it->second;
            const int64_t outer = as_output ? 1 : src.dim(0);
            if (src.numel() % (outer * g.channels) != 0 || (as_output && src.dim(0) != g.channels))
                throw InputError(name, "does not have " + std::to_string(g.channels) + " channels of " + g.name);
            const int64_t inner = src.numel() / (outer * g.channels);
            std::vector<float> out(static_cast<size_t>(outer * n * inner));
            const float* s = src.data<float>();
            for (int64_t o = 0; o < outer; ++o)
                for (int64_t c = 0; c < n; ++c)
                    std::memcpy(&out[(o * n + c) * inner], s + (o * g.channels + k[c]) * inner, size_t(inner) * sizeof(float));
            Shape shape = src.shape();
            if (as_output) shape[0] = n;
            else if (src.rank() == 4) shape[1] = n;
            else shape[1] = n * inner;
            it->second = Tensor::from_floats(shape, out);
        };
        for (const auto& name : g.outputs) slice(name, true);
        for (const auto& name : g.inputs) slice(name, false);
    }
    std::vector<NamedTensor> out;
    for (const auto& nt : state) out.push_back({nt.name, t.at(nt.name)});
    return out;
}

NarrowedModel narrow_model(const nn::UnaryModule& model, const std::string& model_name,
                           const std::vector<std::vector<int64_t>>& kept, int64_t in_channels, int64_t num_classes) {
    const std::vector<ChannelGroup> groups = channel_groups(model_name);
    const std::vector<NamedTensor> state = slice_channels(nn::train::module_state(model), groups, kept);
    nn::models::PrunedArch a = nn::models::pruned_arch_of(model_name);
    for (size_t g = 0; g < groups.size(); ++g) a.widths[g] = static_cast<int64_t>(kept[g].size());
    NarrowedModel m{nn::models::pruned_model_name(a), nullptr};
    m.model = nn::models::make_model(m.model_name, 0, in_channels, num_classes);
    nn::train::load_module_state(*m.model, state, m.model_name);
    m.model->eval();
    return m;
}

std::vector<int64_t> uniform_widths(const nn::models::PrunedArch& current, double flops_fraction, int64_t in_channels,
                                    int64_t num_classes, int64_t multiple) {
    const double budget = flops_fraction * double(nn::models::pruned_macs(current, in_channels, num_classes));
    auto scaled = [&](double r) {
        nn::models::PrunedArch a = current;
        for (int64_t& w : a.widths) {
            const int64_t m = w >= 2 * multiple ? multiple : 1;
            w = std::max<int64_t>(m, std::llround(r * double(w)) / m * m);
        }
        return a;
    };
    const nn::models::PrunedArch smallest = scaled(0);
    const int64_t least = nn::models::pruned_macs(smallest, in_channels, num_classes);
    if (double(least) > budget)
        throw InputError("--flops", "keeping " + format("%g", flops_fraction) + " of the MACs is below what one channel per "
                                    "layer reaches (" + std::to_string(least) + " MACs" +
                                    (multiple > 1 ? ", widths multiples of " + std::to_string(multiple) : "") + ")");
    const double t = bisect_fitting(
        [&](double r) { return double(nn::models::pruned_macs(scaled(r), in_channels, num_classes)) <= budget; }, 0);
    return scaled(t).widths;
}

double bisect_fitting(const std::function<bool(double)>& fits, double fitting) {
    double good = fitting, bad = 1 - fitting;
    for (int i = 0; i < 40; ++i) {
        const double mid = 0.5 * (good + bad);
        (fits(mid) ? good : bad) = mid;
    }
    return good;
}

}  // namespace tern::prune
