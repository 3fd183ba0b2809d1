#include "quant/calibrated_methods.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/progress.h"
#include "formats/bit_pack.h"
#include "formats/format.h"
#include "io/tensor_names.h"
#include "llm/model_config.h"
#include "quant/awq.h"
#include "quant/calibration.h"
#include "quant/gptq.h"
#include "quant/rtn.h"
#include "quant/work_model.h"

namespace tern::quant {
namespace {

using io::TensorRole;
constexpr const char* kWhere = "quantize";

std::vector<double> mean_abs_of(const ops::LinearInputStats& s) {
    const std::vector<float> m = s.mean_abs();
    return {m.begin(), m.end()};
}

// AWQ scales ffn_down's inputs through ffn_up's rows: an online Hadamard
// between them (quant/rotate.h) would make the fold wrong.
void refuse_online_hadamard(const TensorModel& m, const QuantRecipe& r) {
    if (io::find_metadata(m.gguf_metadata, llm::kFfnDownHadamardKey))
        throw InputError("tensor", "method '" + r.method + "' scales ffn_down's inputs through ffn_up, and this model has "
                                 "an online Hadamard between them (" + std::string(llm::kFfnDownHadamardKey) +
                                 "); use rtn, gptq or rotate+gptq");
}

// Every Linear's input scales, keyed by its weight's tensor index (for GPTQ
// after AWQ: the Hessian of x / s).
using InputScales = std::map<int, std::vector<float>>;

// AWQ over every layer of `wm`; clip: the paper's clipping search too.
InputScales apply_awq(WorkModel& wm, const ops::CalibrationCollector& stats, const GroupQuantizer& quantizer,
                      const QuantRecipe& recipe, bool clip, std::vector<std::string>& notes) {
    InputScales scales;
    const int32_t layers = wm.n_layers();
    Progress bar("awq", layers);
    for (int32_t layer = 0; layer < layers; ++layer) {
        struct Group {
            TensorRole prev;  // a norm (scaled as a vector) or a Linear (its rows scaled)
            std::vector<TensorRole> linears;
        };
        const std::vector<Group> groups = {{TensorRole::attn_norm, {TensorRole::attn_q, TensorRole::attn_k, TensorRole::attn_v}},
                                           {TensorRole::attn_v, {TensorRole::attn_output}},
                                           {TensorRole::ffn_norm, {TensorRole::ffn_gate, TensorRole::ffn_up}},
                                           {TensorRole::ffn_up, {TensorRole::ffn_down}}};
        for (const Group& g : groups) {
            const int prev = wm.find(g.prev, layer);
            std::vector<int> lin;
            bool any_skipped = false;
            for (TensorRole r : g.linears) {
                lin.push_back(wm.find(r, layer));
                any_skipped = any_skipped || recipe_skips(recipe, r);
            }
            const ops::LinearInputStats* st = stats.find({g.linears[0], layer});
            if (prev < 0 || std::count(lin.begin(), lin.end(), -1) > 0 || !st || any_skipped) continue;
            const bool prev_is_norm = g.prev == TensorRole::attn_norm || g.prev == TensorRole::ffn_norm;
            // Scaling attn_output's inputs through attn_v's rows needs one v row per o input (no GQA).
            if (!prev_is_norm && wm.rows(prev) != wm.cols(lin[0])) continue;
            const int64_t cols = wm.cols(lin[0]);
            std::vector<WeightView> views;
            for (int i : lin) views.push_back({wm.floats(i), wm.rows(i), cols});
            const std::vector<double> h = st->hessian_sum();
            const AwqScaleSearch search = awq_search_scales(views, mean_abs_of(*st), h, quantizer);
            const std::vector<float>& s = search.scales;
            for (int i : lin) wm.floats(i) = scale_columns({wm.floats(i), wm.rows(i), cols}, s);
            std::vector<float>& p = wm.floats(prev);
            if (prev_is_norm) {
                for (int64_t c = 0; c < cols; ++c) p[static_cast<size_t>(c)] /= s[static_cast<size_t>(c)];
            } else {
                const int64_t pc = wm.cols(prev);
                for (int64_t r = 0; r < cols; ++r)
                    for (int64_t c = 0; c < pc; ++c) p[static_cast<size_t>(r * pc + c)] /= s[static_cast<size_t>(r)];
            }
            if (clip) {
                const std::vector<double> hs = scale_hessian(h, s);
                for (size_t k = 0; k < lin.size(); ++k) {
                    if (g.linears[k] == TensorRole::attn_q || g.linears[k] == TensorRole::attn_k) continue;
                    const int i = lin[k];
                    wm.floats(i) = awq_search_clip({wm.floats(i), wm.rows(i), cols}, hs, quantizer).clipped;
                }
            }
            for (int i : lin) scales[i] = s;
            notes.push_back("blk." + std::to_string(layer) + "." + io::tensor_role_name(g.linears[0]) + ": alpha " +
                            std::to_string(search.alpha).substr(0, 4));
        }
        bar.update(layer + 1, "");
    }
    bar.finish();
    return scales;
}

}  // namespace

// tern's int<bits>g<group> storage types (IntAsym blocks: fp16 d, u8 zero, packed codes).
std::optional<IntGroupGrid> int_group_grid(const FormatDescriptor& f) {
    if (!f.dtype) return std::nullopt;
    int bits = 0, group = 0;
    if (std::sscanf(std::string(f.name).c_str(), "int%dg%d", &bits, &group) != 2) return std::nullopt;
    if (f.block_size != static_cast<uint32_t>(group) || f.block_bytes != static_cast<uint32_t>(3 + bits * group / 8))
        return std::nullopt;
    return IntGroupGrid{.bits = bits, .group = group};
}

namespace {

Tensor pack_int_groups(const GptqResult& g, const IntGroupGrid& grid, DType dtype) {
    const int64_t groups = g.cols / grid.group;
    const int64_t block_bytes = 3 + grid.bits * grid.group / 8;
    Tensor t = Tensor::zeros({g.rows, g.cols}, dtype);
    uint8_t* out = t.raw_data();
    for (int64_t r = 0; r < g.rows; ++r)
        for (int64_t b = 0; b < groups; ++b) {
            uint8_t* blk = out + (r * groups + b) * block_bytes;
            const uint16_t d = g.scales[static_cast<size_t>(r * groups + b)];
            std::memcpy(blk, &d, 2);
            blk[2] = g.zeros[static_cast<size_t>(r * groups + b)];
            for (int64_t i = 0; i < grid.group; ++i)
                put_bits(blk + 3, grid.bits, i, g.codes[static_cast<size_t>(r * g.cols + b * grid.group + i)]);
        }
    return t;
}

}  // namespace

// GPTQ on every Linear with statistics; the rest by round to nearest.
QuantizedModel gptq_then_rtn(WorkModel& wm, const ops::CalibrationCollector& stats, const HessianOf& hessian_of,
                             const QuantRecipe& recipe, std::vector<std::string> notes) {
    const FormatDescriptor& fmt = *recipe.format;
    const std::optional<IntGroupGrid> grid = int_group_grid(fmt);
    if (!grid || recipe.mix)
        throw UsageError("--format", "gptq writes tern's int4g128, int3g128 and int2g128 (GGUF block grids are not "
                                     "supported yet); '" + std::string(fmt.name) + "' is not one");
    struct Job {
        int tensor;
        const ops::LinearInputStats* stats;
    };
    std::vector<Job> jobs;
    const int32_t layers = wm.n_layers();
    for (int32_t layer = 0; layer < layers; ++layer)
        for (TensorRole r : {TensorRole::attn_q, TensorRole::attn_k, TensorRole::attn_v, TensorRole::attn_output,
                             TensorRole::ffn_gate, TensorRole::ffn_up, TensorRole::ffn_down}) {
            const int i = wm.find(r, layer);
            const ops::LinearInputStats* st = stats.find({r, layer});
            if (i >= 0 && st && !recipe_skips(recipe, r)) jobs.push_back({i, st});
        }
    const int head = wm.head();
    const TensorRole head_role = wm.tied_head() ? TensorRole::token_embd : TensorRole::output;
    if (const ops::LinearInputStats* st = stats.find({TensorRole::output, -1});
        head >= 0 && st && !recipe_skips(recipe, TensorRole::output) && !recipe_skips(recipe, head_role))
        jobs.push_back({head, st});

    TensorModel changed = wm.changed_model();
    std::map<int, Tensor> done;
    std::map<int, std::string> job_notes;
    Progress bar("gptq", static_cast<int64_t>(jobs.size()));
    int64_t n_done = 0;
    for (const Job& j : jobs) {
        const int64_t rows = wm.rows(j.tensor), cols = wm.cols(j.tensor);
        const std::vector<double> h = hessian_of ? hessian_of(j.tensor, *j.stats) : j.stats->hessian_sum();
        const std::vector<float>& w = wm.floats(j.tensor);
        const GptqResult g = gptq_quantize(w, rows, cols, h, *grid, {.damp = 0.01, .block = 128, .act_order = false});
        std::string note = "gptq";
        if (g.damp_used > 0.01) note += ", dampened " + std::to_string(g.damp_used).substr(0, 6);
        if (recipe.measure_error) {
            const double e_rtn = relative_output_error(w, rtn_group_quantize(w, rows, cols, *grid).dequantized, rows, cols, h);
            const double e_gptq = relative_output_error(w, g.dequantized, rows, cols, h);
            note += ", output error vs rtn " + std::to_string(e_gptq / std::max(e_rtn, 1e-300)).substr(0, 5) + "x";
        }
        done.emplace(j.tensor, pack_int_groups(g, *grid, *fmt.dtype));
        job_notes.emplace(j.tensor, note);
        bar.update(++n_done, wm.name(j.tensor));
    }
    bar.finish();

    // Round to nearest for everything else, then put the GPTQ tensors in.
    QuantRecipe rest = recipe;
    rest.method = "rtn";
    QuantizedModel out = run_method_rtn(changed, rest, [&](size_t i) { return done.count(static_cast<int>(i)) > 0; });
    for (auto& [i, t] : done) {
        out.model.tensors[static_cast<size_t>(i)].tensor = t;
        for (QuantizeReportRow& row : out.report)
            if (row.name == wm.name(i)) {
                row.to_dtype = dtype_name(*fmt.dtype);
                row.bytes_after = t.nbytes();
                row.note = job_notes[i];
            }
    }
    if (!notes.empty()) out.notes = std::move(notes);
    return out;
}

QuantizedModel run_awq(const TensorModel& model, const QuantRecipe& recipe) {
    refuse_online_hadamard(model, recipe);
    const LinearStatistics stats = calibrate_linears(model, recipe);
    WorkModel wm(model);
    const FormatDescriptor& base = *recipe.format;
    const std::optional<IntGroupGrid> grid = int_group_grid(base);
    const GroupQuantizer q = grid ? group_quantizer(*grid) : group_quantizer(base);
    std::vector<std::string> notes;
    apply_awq(wm, *stats.collector, q, recipe, /*clip=*/true, notes);
    QuantRecipe rest = recipe;
    rest.method = "rtn";
    QuantizedModel out = run_method_rtn(wm.changed_model(), rest, {});
    out.notes = std::move(notes);
    return out;
}

QuantizedModel run_gptq(const TensorModel& model, const QuantRecipe& recipe) {
    if (!int_group_grid(*recipe.format) || recipe.mix)
        throw UsageError("--format", "gptq writes tern's int4g128, int3g128 and int2g128 (GGUF block grids are not "
                                     "supported yet); '" + std::string(recipe.format->name) + "' is not one");
    const LinearStatistics stats = calibrate_linears(model, recipe);
    WorkModel wm(model);
    return gptq_then_rtn(wm, *stats.collector, {}, recipe, {});
}

QuantizedModel run_awq_gptq(const TensorModel& model, const QuantRecipe& recipe) {
    const std::optional<IntGroupGrid> grid = int_group_grid(*recipe.format);
    if (!grid || recipe.mix)
        throw UsageError("--format", "awq+gptq writes tern's int4g128, int3g128 and int2g128; '" +
                                         std::string(recipe.format->name) + "' is not one");
    refuse_online_hadamard(model, recipe);
    const LinearStatistics stats = calibrate_linears(model, recipe);
    WorkModel wm(model);
    std::vector<std::string> notes;
    const InputScales scales = apply_awq(wm, *stats.collector, group_quantizer(*grid), recipe, /*clip=*/false, notes);
    // GPTQ sees the Hessians of the scaled inputs x / s.
    const HessianOf scaled = [&](int tensor, const ops::LinearInputStats& st) {
        std::vector<double> h = st.hessian_sum();
        if (auto it = scales.find(tensor); it != scales.end()) h = scale_hessian(h, it->second);
        return h;
    };
    return gptq_then_rtn(wm, *stats.collector, scaled, recipe, std::move(notes));
}

}  // namespace tern::quant
