#include "quant/work_model.h"

#include <memory>

#include "core/error.h"
#include "core/progress.h"

namespace tern::quant {
namespace {
constexpr const char* kWhere = "quantize";
}  // namespace

bool recipe_skips(const QuantRecipe& r, io::TensorRole role) {
    return std::find(r.skip_roles.begin(), r.skip_roles.end(), role) != r.skip_roles.end();
}

LinearStatistics calibrate_linears(const TensorModel& model, const QuantRecipe& recipe, ops::StatSet stats) {
    if (!model.is_llm)
        throw InputError(kWhere, "method '" + recipe.method + "' calibrates a language model; this input is not one tern runs");
    if (recipe.calibration.model.empty()) throw UsageError("--calib", "method '" + recipe.method + "' needs calibration data");
    CalibrateOptions o = recipe.calibration;
    o.stats = stats;
    std::unique_ptr<Progress> bar;
    LinearStatistics s = collect_linear_statistics(o, [&](int64_t w, int64_t n) {
        if (!bar) bar = std::make_unique<Progress>("calibrate", n);
        bar->update(w + 1);
    });
    if (bar) bar->finish();
    if (s.fused_qkv)
        throw InputError(kWhere, "method '" + recipe.method + "' supports llama-family models (separate q, k, v); this one fuses them");
    return s;
}

}  // namespace tern::quant
