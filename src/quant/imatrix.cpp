#include "quant/imatrix.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "formats/gguf_blocks_imatrix.h"
#include "formats/nonfinite_scan.h"
#include "io/model_info.h"
#include "io/tensor_names.h"
#include "quant/calibration.h"
#include "quant/gguf_mix.h"
#include "quant/work_model.h"

namespace tern::quant {
namespace {

constexpr const char* kSuffix = ".in_meansq";

bool has_tensor(const TensorModel& m, const std::string& name) {
    return std::any_of(m.tensors.begin(), m.tensors.end(), [&](const NamedTensor& t) { return t.name == name; });
}

// "blk.0.attn_q" -> "blk.0.attn_q.weight"; "output" -> the head (token_embd.weight when tied).
std::string weight_name(const TensorModel& m, const std::string& base) {
    if (base == "output" && !has_tensor(m, "output.weight")) return "token_embd.weight";
    return base + ".weight";
}

// Checks one importance vector; zeros (a column never active) get a small
// floor, or the weighted fits of a block of them would have nothing to fit.
void check_importance(std::vector<float>& imp, const std::string& where, const std::string& name) {
    double sum = 0;
    for (float v : imp) {
        if (!std::isfinite(v) || v < 0)
            throw InputError(where, "statistics '" + name + "' hold a negative, NaN or Inf mean square");
        sum += v;
    }
    const float floor = imp.empty() ? 0.0f : static_cast<float>(1e-6 * sum / static_cast<double>(imp.size()));
    for (float& v : imp) v = std::max(v, floor);
}

// sum_j importance_j * (w - q)^2 over the tensor, the error the search minimises (up to sigma2).
double weighted_error(const std::vector<float>& w, const std::vector<float>& q, const std::vector<float>& imp) {
    const size_t cols = imp.size();
    double e = 0;
    for (size_t i = 0; i < w.size(); ++i) {
        const double d = static_cast<double>(w[i]) - q[i];
        e += imp[i % cols] * d * d;
    }
    return e;
}

}  // namespace

ImportanceMap read_importance_file(const std::string& path, const TensorModel& model) {
    ImportanceMap out;
    for (const NamedTensor& t : load_tensors(path)) {
        if (!t.name.ends_with(kSuffix)) continue;
        const std::string base = t.name.substr(0, t.name.size() - std::char_traits<char>::length(kSuffix));
        std::vector<float> imp = tensor_to_f32(t.tensor, t.name);
        check_importance(imp, path, t.name);
        out[weight_name(model, base)] = std::move(imp);
    }
    if (out.empty())
        throw InputError(path, "no '<weight>.in_meansq' statistics (write them with `tern calibrate --stats meansq`)");
    return out;
}

Tensor quantize_tensor_weighted(const std::vector<float>& w, const Shape& shape, const FormatDescriptor& fmt,
                                const std::vector<float>& importance, const std::string& name) {
    const int64_t cols = shape.back();
    const int64_t rows = cols == 0 ? 0 : static_cast<int64_t>(w.size()) / cols;
    Tensor out = Tensor::empty(shape, *fmt.dtype);
    const uint64_t row_bytes = fmt.bytes_for(cols);
    uint8_t* dst = out.data<uint8_t>();
    parallel_for(rows, 16, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
            quantize_row_weighted(fmt, w.data() + r * cols, dst + r * row_bytes, cols, importance.data());
    });
    if (scan_nonfinite(out).count)
        throw InputError(name, "values beyond the range of " + std::string(fmt.name) + " (block scales would become "
                               "Inf or NaN); keep this tensor in f32");
    return out;
}

QuantizedModel run_imatrix(const TensorModel& model, const QuantRecipe& recipe) {
    const FormatDescriptor& base = *recipe.format;
    if (!has_weighted_quantizer(base))
        throw UsageError("--format", "imatrix targets the GGUF block types q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, "
                                     "q5_k, q6_k and their mixes (q3_k_m, q4_k_m …); '" + std::string(base.name) +
                                     "' is not one");
    ImportanceMap imp;
    std::string source;
    if (!recipe.imatrix_file.empty()) {
        source = recipe.imatrix_file;
        imp = read_importance_file(source, model);
    } else {
        const LinearStatistics stats = calibrate_linears(model, recipe, {.meansq = true});
        source = "calibration";
        for (const auto& e : stats.collector->entries()) {
            const std::string name = calibration_weight_name(e.role, false);
            std::vector<float> v = e.stats.mean_sq();
            check_importance(v, source, name);
            imp[weight_name(model, name)] = std::move(v);
        }
    }

    std::optional<GgufMixPlan> plan;
    if (recipe.mix) plan.emplace(*recipe.mix, model.tensors);
    std::map<size_t, Tensor> done;
    std::map<size_t, std::string> notes;
    Progress bar("imatrix", static_cast<int64_t>(model.tensors.size()));
    size_t matched = 0;
    for (size_t i = 0; i < model.tensors.size(); ++i) {
        const NamedTensor& t = model.tensors[i];
        const auto it = imp.find(t.name);
        if (it == imp.end()) continue;
        ++matched;
        const FormatDescriptor* chosen = plan ? plan->format_for(t) : nullptr;
        const FormatDescriptor& fmt = chosen ? *chosen : base;
        const int64_t cols = t.tensor.rank() == 2 ? t.tensor.dim(-1) : 0;
        if (recipe_skips(recipe, io::tensor_role_of(t.name).role) || cols == 0 || cols % fmt.block_size != 0 ||
            !has_weighted_quantizer(fmt))
            continue;  // round to nearest (or kept) like the rest
        if (static_cast<int64_t>(it->second.size()) != cols)
            throw InputError(source, t.name + " has " + std::to_string(cols) + " columns but its statistics have " +
                                         std::to_string(it->second.size()) + " values (another model's?)");
        const std::vector<float> w = tensor_to_f32(t.tensor, t.name);
        Tensor q = quantize_tensor_weighted(w, t.tensor.shape(), fmt, it->second, t.name);
        std::string note = "imatrix";
        if (recipe.measure_error) {
            const double e_w = weighted_error(w, tensor_to_f32(q, t.name), it->second);
            const double e_rtn =
                weighted_error(w, tensor_to_f32(quantize_tensor_rtn(t.tensor, fmt, t.name), t.name), it->second);
            note += ", weighted error vs rtn " + std::to_string(e_w / std::max(e_rtn, 1e-300)).substr(0, 5) + "x";
        }
        done.emplace(i, std::move(q));
        notes.emplace(i, note);
        bar.update(static_cast<int64_t>(i + 1), t.name);
    }
    bar.finish();
    if (matched == 0)
        throw InputError(source, "statistics name none of the model's weights (another model's?)");

    QuantRecipe rest = recipe;
    rest.method = "rtn";
    QuantizedModel out = run_method_rtn(model, rest, [&](size_t i) { return done.count(i) > 0; });
    for (auto& [i, q] : done) {
        out.model.tensors[i].tensor = q;
        for (QuantizeReportRow& row : out.report)
            if (row.name == model.tensors[i].name) {
                row.to_dtype = dtype_name(q.dtype());
                row.bytes_after = q.nbytes();
                row.note = notes[i];
            }
    }
    return out;
}

}  // namespace tern::quant
