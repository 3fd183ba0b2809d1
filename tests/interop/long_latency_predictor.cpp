// The latency table's predictor against measured end-to-end latency (prepared
// graph executor, batch 1, 1 thread) on the three committed zoo models and on
// MobileNetV2-like variants (width, expansion, depth). Two calibrations, both
// judged on the variants only: an additive per-model overhead fitted on the
// three zoo models, and a scale fitted on mobilenetv2_tiny alone (the family's
// base model, as a search would fit it on its supernet's reference
// architecture). Prints the table; asserts only a loose bound, since the
// machine the tests run on is shared.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "export_test_util.h"
#include "hw/latency_table.h"
#include "interop/classifier_graph.h"
#include "interop/model_cost.h"
#include "io/io_test_util.h"
#include "nn/models/mobilenetv2.h"

namespace tern::testinterop {
namespace {

struct Variant {
    const char* name;
    nn::models::MobileNetV2Config cfg;
};

std::vector<Variant> variants() {
    using Cfg = nn::models::MobileNetV2Config;
    const Cfg base = nn::models::mobilenetv2_tiny_config();
    auto scaled = [&](double width, int64_t expansion, int64_t extra_repeats) {
        Cfg c = base;
        c.stem_channels = std::max<int64_t>(4, std::lround(static_cast<double>(c.stem_channels) * width));
        for (auto& s : c.stages) {
            s.channels = std::max<int64_t>(4, std::lround(static_cast<double>(s.channels) * width));
            if (expansion > 0 && s.expansion > 1) s.expansion = expansion;
            s.repeats += extra_repeats;
        }
        c.head_channels = std::max<int64_t>(8, std::lround(static_cast<double>(c.head_channels) * width));
        return c;
    };
    return {{"mbv2 w0.5", scaled(0.5, 0, 0)},   {"mbv2 w0.75", scaled(0.75, 0, 0)}, {"mbv2 w1.5", scaled(1.5, 0, 0)},
            {"mbv2 w2", scaled(2.0, 0, 0)},     {"mbv2 t2", scaled(1.0, 2, 0)},     {"mbv2 t6", scaled(1.0, 6, 0)},
            {"mbv2 deep", scaled(1.0, 0, 1)},   {"mbv2 w1.5 t6 deep", scaled(1.5, 6, 1)}};
}

TEST(LatencyPredictorLong, TableSumTracksMeasuredLatency) {
    testio::TempDir dir;
    hw::LatencyTable table = hw::LatencyTable::load(dir.file("table.json"));
    struct Row {
        std::string name;
        double sum_us, measured_us;
        size_t uncovered;
    };
    auto run = [&](const interop::CostModel& m, const std::string& name) {
        std::vector<std::string> uncovered;
        const auto configs = interop::configs_only(interop::latency_configs(m, &uncovered));
        const double sum = hw::predict_latency_us(configs, table);
        const double measured = interop::measure_model_latency_us(m, 5, 31);
        return Row{name, sum, measured, uncovered.size()};
    };
    std::vector<Row> zoo, var;
    for (const char* name : kCommittedModels) zoo.push_back(run(interop::load_cost_model(model_path(name)), name));
    for (const Variant& v : variants()) {
        nn::models::MobileNetV2 model(v.cfg, 1, 10, 1);
        model.eval();
        var.push_back(run(interop::cost_model_of(interop::classifier_graph(model, v.name, 1, 28, 28), v.name, "zoo"), v.name));
    }
    std::vector<std::pair<double, double>> fit;
    for (const Row& r : zoo) fit.push_back({r.sum_us, r.measured_us});
    const double overhead = hw::fit_overhead_us(fit);
    const double scale = hw::fit_scale({{zoo.back().sum_us, zoo.back().measured_us}});
    std::printf("fitted: overhead %.1f us (median over the zoo models); scale %.3f (mobilenetv2_tiny)\n", overhead, scale);
    std::printf("%-22s %9s %9s %9s %8s %9s %8s\n", "model", "table us", "measured", "+overhd", "error", "x scale", "error");
    double sum_add = 0, sum_scaled = 0, worst_scaled = 0;
    for (const Row& r : zoo) EXPECT_EQ(r.uncovered, 0u) << r.name;
    auto print = [&](const Row& r, bool judged) {
        const double add = r.sum_us + overhead, scaled = r.sum_us * scale;
        const double e_add = (add - r.measured_us) / r.measured_us, e_scaled = (scaled - r.measured_us) / r.measured_us;
        std::printf("%-22s %9.1f %9.1f %9.1f %+7.1f%% %9.1f %+7.1f%%%s\n", r.name.c_str(), r.sum_us, r.measured_us, add,
                    100 * e_add, scaled, 100 * e_scaled, judged ? "" : "  (fit)");
        EXPECT_EQ(r.uncovered, 0u) << r.name;
        if (!judged) return;
        sum_add += std::abs(e_add), sum_scaled += std::abs(e_scaled);
        worst_scaled = std::max(worst_scaled, std::abs(e_scaled));
    };
    for (const Row& r : zoo) print(r, false);
    for (const Row& r : var) print(r, true);
    const double n = static_cast<double>(var.size());
    std::printf("variants: mean |error| %.1f %% with the overhead, %.1f %% with the scale (worst %.1f %%)\n",
                100 * sum_add / n, 100 * sum_scaled / n, 100 * worst_scaled);
    EXPECT_LT(sum_scaled / n, 0.25);  // loose: timings on a loaded machine
}

}  // namespace
}  // namespace tern::testinterop
