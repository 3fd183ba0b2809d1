#include "cli/prune_weights.h"

#include <cstdio>

#include "core/json_out.h"
#include "core/table.h"
#include "prune/weight_prune_file.h"

namespace tern::cli {

void run_weight_prune(const WeightPruneCliOptions& o) {
    prune::WeightPruneRequest req;
    req.input = o.model;
    req.output = o.output;
    req.method = o.method;
    req.sparsity = o.sparsity;
    req.calibration_images = o.calib_images;
    req.obd_batch = o.obd_batch;
    if (!o.json) req.log = [](const std::string& line) { std::fputs(line.c_str(), stderr); };
    const prune::WeightPruneReport r = prune::prune_classifier_weights(req);
    const prune::LayerSparsity& total = r.layers.back();
    if (o.json) {
        Json layers = Json::array();
        for (const auto& l : r.layers)
            layers.push_back(Json{{"name", l.name}, {"weights", l.weights}, {"zeros", l.zeros}, {"sparsity", l.sparsity()}});
        print_json(Json{{"input", o.model}, {"output", o.output}, {"method", o.method}, {"model", r.model_name},
                        {"sparsity_target", o.sparsity}, {"calibration_images", r.calibration_images},
                        {"sparsity", total.sparsity()}, {"layers", layers}});
        return;
    }
    TextTable t({"tensor", "weights", "zeros", "sparsity"});
    for (const auto& l : r.layers)
        t.add_row({l.name, std::to_string(l.weights), std::to_string(l.zeros), fmt_fixed(100 * l.sparsity(), 2) + " %"});
    t.print();
    std::printf("\n%s -> %s: %s, %s %% of the Conv/Linear weights zero%s\n", o.model.c_str(), o.output.c_str(),
                o.method.c_str(), fmt_fixed(100 * total.sparsity(), 2).c_str(),
                r.calibration_images ? (", calibrated on " + std::to_string(r.calibration_images) + " training images").c_str()
                                     : "");
}

}  // namespace tern::cli
