#include "quant/calibrated_methods.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "core/error.h"
#include "core/progress.h"
#include "formats/bit_pack.h"
#include "formats/format.h"
#include "formats/gguf_block_codes.h"
#include "io/tensor_names.h"
#include "llm/model_config.h"
#include "quant/awq.h"
#include "quant/calibration.h"
#include "quant/gguf_mix.h"
#include "quant/gptq.h"
#include "quant/rtn.h"
#include "quant/work_model.h"

namespace tern::quant {
namespace {

using io::TensorRole;
constexpr const char* kCalibratedWhere = "quantize";

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
        for (const InputGroup& g : llama_input_groups()) {
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
            wm.fold_input_scales(prev, prev_is_norm, lin, s);
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

// The grid GPTQ rounds a tensor stored in `f` onto: tern's int<bits>g<group>
// or a GGUF block type with a block codec; nullopt for any other format.
using GptqGrid = std::variant<IntGroupGrid, GgufBlockGrid>;
std::optional<GptqGrid> gptq_grid(const FormatDescriptor& f) {
    if (const std::optional<IntGroupGrid> g = int_group_grid(f)) return GptqGrid{*g};
    if (f.dtype && gguf_block_codec(*f.dtype)) return GptqGrid{GgufBlockGrid{.type = *f.dtype}};
    return std::nullopt;
}

constexpr const char* kGptqFormats = "tern's int4g128, int3g128 and int2g128, the GGUF block types q4_0, q4_1, q2_k, "
                                     "q3_k, q4_k, q5_k, q6_k and their mixes (q4_k_m …)";


Tensor pack_gptq(const GptqResult& g, const GptqGrid& grid, DType dtype) {
    if (const auto* ig = std::get_if<IntGroupGrid>(&grid)) return pack_int_groups(g, *ig, dtype);
    Tensor t = Tensor::zeros({g.rows, g.cols}, dtype);
    if (t.nbytes() != g.blocks.size())
        throw InputError(kCalibratedWhere, "GPTQ packed " + std::to_string(g.blocks.size()) + " bytes for a " +
                                     std::string(dtype_name(dtype)) + " tensor of " + std::to_string(t.nbytes()));
    std::memcpy(t.raw_data(), g.blocks.data(), g.blocks.size());
    return t;
}

}  // namespace

void require_gptq_format(const QuantRecipe& recipe) {
    if (!recipe.mix && !gptq_grid(*recipe.format))
        throw UsageError("--format", recipe.method + " writes " + kGptqFormats + "; '" +
                                         std::string(recipe.format->name) + "' is not one");
}

// GPTQ on every Linear with statistics whose format (the mix's choice for it)
// is a GPTQ grid; the rest by round to nearest. The head of a tied model is
// GPTQ'd into a separate output.weight, so the embedding lookup stays as
// round to nearest (or --skip-roles) leaves it.
QuantizedModel gptq_then_rtn(WorkModel& wm, const ops::CalibrationCollector& stats, const HessianOf& hessian_of,
                             const QuantRecipe& recipe, std::vector<std::string> notes) {
    TensorModel changed = wm.changed_model();
    std::optional<GgufMixPlan> plan;
    if (recipe.mix) plan.emplace(*recipe.mix, changed.tensors);
    auto format_of = [&](int i) -> const FormatDescriptor* {
        const FormatDescriptor* f = plan ? plan->format_for(changed.tensors[static_cast<size_t>(i)]) : nullptr;
        return f ? f : recipe.format;
    };
    struct Job {
        int tensor;
        const ops::LinearInputStats* stats;
        const FormatDescriptor* format;
        GptqGrid grid;
    };
    std::vector<Job> jobs;
    auto add_job = [&](int i, const ops::LinearInputStats* st) {
        const FormatDescriptor* f = format_of(i);
        if (const std::optional<GptqGrid> g = gptq_grid(*f)) jobs.push_back({i, st, f, *g});
    };
    const int32_t layers = wm.n_layers();
    for (int32_t layer = 0; layer < layers; ++layer)
        for (TensorRole r : {TensorRole::attn_q, TensorRole::attn_k, TensorRole::attn_v, TensorRole::attn_output,
                             TensorRole::ffn_gate, TensorRole::ffn_up, TensorRole::ffn_down}) {
            const int i = wm.find(r, layer);
            const ops::LinearInputStats* st = stats.find({r, layer});
            if (i >= 0 && st && !recipe_skips(recipe, r)) add_job(i, st);
        }
    const int head = wm.head();
    const bool tied = wm.tied_head();
    if (const ops::LinearInputStats* st = stats.find({TensorRole::output, -1});
        head >= 0 && st && !recipe_skips(recipe, TensorRole::output))
        add_job(head, st);

    std::map<int, Tensor> done;
    std::optional<NamedTensor> split_head;  // a tied model's GPTQ'd head, as output.weight
    QuantizeReportRow split_head_row;
    std::map<int, std::string> job_notes;
    Progress bar("gptq", static_cast<int64_t>(jobs.size()));
    int64_t n_done = 0;
    for (const Job& j : jobs) {
        const int64_t rows = wm.rows(j.tensor), cols = wm.cols(j.tensor);
        const std::vector<double> h = hessian_of ? hessian_of(j.tensor, *j.stats) : j.stats->hessian_sum();
        const bool is_split_head = tied && j.tensor == head;
        // The tied embedding is read, not changed: it stays as it was for the lookup.
        const std::vector<float> head_floats =
            is_split_head ? tensor_to_f32(wm.original(j.tensor), wm.name(j.tensor)) : std::vector<float>{};
        const std::vector<float>& w = is_split_head ? head_floats : wm.floats(j.tensor);
        const GptqOptions o{.damp = 0.01, .block = 128, .act_order = false};
        const GptqResult g =
            std::visit([&](const auto& grid) { return gptq_quantize(w, rows, cols, h, grid, o); }, j.grid);
        std::string note = "gptq";
        if (g.damp_used > 0.01) note += ", dampened " + std::to_string(g.damp_used).substr(0, 6);
        if (recipe.measure_error) {
            const GptqResult rtn =
                std::visit([&](const auto& grid) { return rtn_group_quantize(w, rows, cols, grid); }, j.grid);
            const double e_rtn = relative_output_error(w, rtn.dequantized, rows, cols, h);
            const double e_gptq = relative_output_error(w, g.dequantized, rows, cols, h);
            note += ", output error vs rtn " + std::to_string(e_gptq / std::max(e_rtn, 1e-300)).substr(0, 5) + "x";
        }
        Tensor packed = pack_gptq(g, j.grid, *j.format->dtype);
        if (is_split_head) {
            split_head_row = {.name = "output.weight", .from_dtype = std::string(dtype_name(wm.original(j.tensor).dtype())),
                              .to_dtype = std::string(dtype_name(*j.format->dtype)), .bytes_before = 0,
                              .bytes_after = packed.nbytes(), .note = note + ", tied head split from token_embd"};
            split_head = NamedTensor{.name = "output.weight", .tensor = std::move(packed)};
        } else {
            done.emplace(j.tensor, std::move(packed));
            job_notes.emplace(j.tensor, note);
        }
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
                row.to_dtype = dtype_name(t.dtype());
                row.bytes_after = t.nbytes();
                row.note = job_notes[i];
            }
    }
    if (split_head) {
        out.model.tensors.push_back(std::move(*split_head));
        out.report.push_back(split_head_row);
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
    require_gptq_format(recipe);
    const LinearStatistics stats = calibrate_linears(model, recipe);
    WorkModel wm(model);
    return gptq_then_rtn(wm, *stats.collector, {}, recipe, {});
}

QuantizedModel run_awq_gptq(const TensorModel& model, const QuantRecipe& recipe) {
    require_gptq_format(recipe);
    refuse_online_hadamard(model, recipe);
    const LinearStatistics stats = calibrate_linears(model, recipe);
    WorkModel wm(model);
    std::vector<std::string> notes;
    const FormatDescriptor& base = *recipe.format;
    const std::optional<IntGroupGrid> grid = int_group_grid(base);
    const GroupQuantizer q = grid ? group_quantizer(*grid) : group_quantizer(base);
    const InputScales scales = apply_awq(wm, *stats.collector, q, recipe, /*clip=*/false, notes);
    // GPTQ sees the Hessians of the scaled inputs x / s.
    const HessianOf scaled = [&](int tensor, const ops::LinearInputStats& st) {
        std::vector<double> h = st.hessian_sum();
        if (auto it = scales.find(tensor); it != scales.end()) h = scale_hessian(h, it->second);
        return h;
    };
    return gptq_then_rtn(wm, *stats.collector, scaled, recipe, std::move(notes));
}

}  // namespace tern::quant
