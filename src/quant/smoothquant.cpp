#include "quant/smoothquant.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "core/error.h"
#include "core/progress.h"
#include "formats/w8a8_block.h"
#include "io/tensor_names.h"

namespace tern::quant {
namespace {

using io::TensorRole;

// s outside this range would push a channel's weights or activations out of
// float range for nothing (SmoothQuant's reference clamps at 1e-5 too).
constexpr double kMinScale = 1e-5, kMaxScale = 1e5;

void require_w8a8(const QuantRecipe& r) {
    if (!r.format || r.format->dtype != DType::w8a8)
        throw UsageError("--format", "method '" + r.method + "' writes w8a8 (int8 weights and activations), not '" +
                                         std::string(r.format ? r.format->name : "") + "'");
}

// The calibration key of the Linear whose weight is tensor i: the tied
// embedding runs as the output head.
io::RoleOf stats_key(const WorkModel& wm, int i) {
    io::RoleOf r = io::tensor_role_of(wm.name(i));
    if (r.role == TensorRole::token_embd || r.role == TensorRole::output) return {TensorRole::output, -1};
    return r;
}

// Runs rtn into w8a8 on the (smoothed) model, then, for --act-scale static,
// writes each Linear's input absmax / 127 (after smoothing: max_j absmax_j / s_j)
// into its blocks. Linears calibration never saw stay dynamic, with a note.
QuantizedModel quantize_w8a8(WorkModel& wm, const ops::CalibrationCollector& stats,
                             const std::map<int, std::vector<float>>& smoothing, const QuantRecipe& recipe,
                             std::vector<std::string> notes) {
    const TensorModel changed = wm.changed_model();
    QuantizedModel out = run_method_rtn(changed, recipe, {});
    out.notes = std::move(notes);
    if (!recipe.static_act_scale) return out;
    for (size_t i = 0; i < out.model.tensors.size(); ++i) {
        NamedTensor& t = out.model.tensors[i];
        if (t.tensor.dtype() != DType::w8a8) continue;
        const ops::LinearInputStats* st = stats.find(stats_key(wm, static_cast<int>(i)));
        if (!st || st->absmax().empty()) {
            out.notes.push_back(t.name + ": no calibration statistics, per-token activation scales");
            continue;
        }
        const std::vector<float>& amax = st->absmax();
        const auto s = smoothing.find(static_cast<int>(i));
        double m = 0;
        for (size_t j = 0; j < amax.size(); ++j)
            m = std::max(m, double(amax[j]) / (s == smoothing.end() ? 1.0 : double(s->second[j])));
        const float act_scale = static_cast<float>(m / kW8A8Qmax);
        if (!(act_scale > 0) || !std::isfinite(act_scale)) {
            out.notes.push_back(t.name + ": activations all zero in calibration, per-token activation scales");
            continue;
        }
        Tensor copy = Tensor::zeros(t.tensor.shape(), DType::w8a8);
        const Tensor src = t.tensor.contiguous();  // const: a file-mapped tensor is read-only
        std::memcpy(copy.raw_data(), src.data<uint8_t>(), src.nbytes());
        uint8_t* p = copy.raw_data();
        for (uint64_t b = 0; b < t.tensor.nbytes() / sizeof(W8A8Block); ++b)
            std::memcpy(p + b * sizeof(W8A8Block) + offsetof(W8A8Block, act_scale), &act_scale, sizeof(float));
        t.tensor = std::move(copy);
        out.report[i].note = "static activation scale " + std::to_string(act_scale);
    }
    return out;
}

}  // namespace

std::vector<float> smoothquant_scales(std::span<const float> act_absmax, std::span<const std::span<const float>> weights,
                                      int64_t cols, double alpha) {
    std::vector<float> s(static_cast<size_t>(cols), 1.0f);
    for (int64_t j = 0; j < cols; ++j) {
        double wmax = 0;
        for (const auto& w : weights)
            for (size_t r = 0; r < w.size() / static_cast<size_t>(cols); ++r)
                wmax = std::max(wmax, std::fabs(double(w[r * static_cast<size_t>(cols) + static_cast<size_t>(j)])));
        const double xmax = act_absmax[static_cast<size_t>(j)];
        if (!(xmax > 0) || !(wmax > 0)) continue;
        const double v = std::pow(xmax, alpha) / std::pow(wmax, 1.0 - alpha);
        s[static_cast<size_t>(j)] = static_cast<float>(std::clamp(v, kMinScale, kMaxScale));
    }
    return s;
}

std::map<int, std::vector<float>> smooth_model(WorkModel& wm, const ops::CalibrationCollector& stats,
                                               const QuantRecipe& recipe, double alpha, std::vector<std::string>& notes) {
    std::map<int, std::vector<float>> applied;
    const int32_t layers = wm.n_layers();
    Progress bar("smoothquant", layers);
    for (int32_t layer = 0; layer < layers; ++layer) {
        for (const InputGroup& g : llama_input_groups()) {
            const int prev = wm.find(g.prev, layer);
            std::vector<int> lin;
            bool usable = prev >= 0;
            for (TensorRole r : g.linears) {
                lin.push_back(wm.find(r, layer));
                usable = usable && lin.back() >= 0 && !recipe_skips(recipe, r);
            }
            const ops::LinearInputStats* st = stats.find({g.linears[0], layer});
            if (!usable || !st || st->absmax().empty()) continue;
            const bool prev_is_norm = g.prev == TensorRole::attn_norm || g.prev == TensorRole::ffn_norm;
            const int64_t cols = wm.cols(lin[0]);
            // attn_output through attn_v's rows needs one v row per o input (no GQA).
            if (!prev_is_norm && wm.rows(prev) != cols) continue;
            if (prev_is_norm && static_cast<int64_t>(wm.floats(prev).size()) != cols) continue;
            std::vector<std::span<const float>> ws;
            for (int i : lin) ws.emplace_back(wm.floats(i));
            const std::vector<float> s = smoothquant_scales(st->absmax(), ws, cols, alpha);
            wm.fold_input_scales(prev, prev_is_norm, lin, s);
            for (int i : lin) applied[i] = s;
            const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
            notes.push_back("blk." + std::to_string(layer) + "." + io::tensor_role_name(g.linears[0]) + ": s in [" +
                            std::to_string(*lo) + ", " + std::to_string(*hi) + "]");
        }
        bar.update(layer + 1, "");
    }
    bar.finish();
    return applied;
}

QuantizedModel run_smoothquant(const TensorModel& model, const QuantRecipe& recipe) {
    require_w8a8(recipe);
    if (!(recipe.smooth_alpha >= 0.0 && recipe.smooth_alpha <= 1.0))
        throw UsageError("--alpha", "must be in [0, 1], got " + std::to_string(recipe.smooth_alpha));
    const LinearStatistics st = calibrate_linears(model, recipe, {.absmax = true});
    WorkModel wm(model);
    std::vector<std::string> notes;
    const auto applied = smooth_model(wm, *st.collector, recipe, recipe.smooth_alpha, notes);
    return quantize_w8a8(wm, *st.collector, applied, recipe, std::move(notes));
}

QuantizedModel run_w8a8_static_rtn(const TensorModel& model, const QuantRecipe& recipe) {
    require_w8a8(recipe);
    const LinearStatistics st = calibrate_linears(model, recipe, {.absmax = true});
    WorkModel wm(model);
    return quantize_w8a8(wm, *st.collector, {}, recipe, {});
}

}  // namespace tern::quant
