#include "quant/work_model.h"

#include <memory>

#include "core/error.h"
#include "core/progress.h"

namespace tern::quant {
namespace {
constexpr const char* kWorkModelWhere = "quantize";
}  // namespace

bool recipe_skips(const QuantRecipe& r, io::TensorRole role) {
    return std::find(r.skip_roles.begin(), r.skip_roles.end(), role) != r.skip_roles.end();
}

LinearStatistics calibrate_linears(const TensorModel& model, const QuantRecipe& recipe, ops::StatSet stats) {
    return calibrate_linears(model, recipe.method, recipe.calibration, stats, kWorkModelWhere);
}

LinearStatistics calibrate_linears(const TensorModel& model, const std::string& method, const CalibrateOptions& options,
                                   ops::StatSet stats, const char* where) {
    if (!model.is_llm)
        throw InputError(where, "method '" + method + "' calibrates a language model; this input is not one tern runs");
    if (options.model.empty()) throw UsageError("--calib", "method '" + method + "' needs calibration data");
    CalibrateOptions o = options;
    o.stats = stats;
    std::unique_ptr<Progress> bar;
    LinearStatistics s = collect_linear_statistics(o, [&](int64_t w, int64_t n) {
        if (!bar) bar = std::make_unique<Progress>("calibrate", n);
        bar->update(w + 1);
    });
    if (bar) bar->finish();
    if (s.fused_qkv)
        throw InputError(where, "method '" + method + "' supports llama-family models (separate q, k, v); this one fuses them");
    return s;
}

}  // namespace tern::quant
