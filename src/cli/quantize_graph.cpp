#include "cli/quantize_graph.h"
#include "cli/quantize_mixed.h"

#include <cstdio>
#include <map>
#include <vector>

#include "core/error.h"
#include "core/json_out.h"
#include "core/output_path.h"
#include "core/table.h"
#include "graph/model_file.h"
#include "graph/onnx_export.h"
#include "graph/qdq_fuse.h"
#include "interop/classifier_graph.h"
#include "nn/data/image_dataset.h"
#include "quant/graph_ptq.h"

namespace tern::cli {
namespace {

constexpr int64_t kDefaultCalibImages = 512;

struct CalibSpec {
    std::string dataset, split;
    int64_t images = kDefaultCalibImages;
};

// "fashion-mnist:train:N" (N defaults to 512). Only the training split: images
// of the test split would flatter the accuracy measured on it.
CalibSpec parse_calib(const std::string& text) {
    const std::string spec = text.empty() ? "fashion-mnist:train" : text;
    const std::string usage = "graph models calibrate on fashion-mnist:train:N (N images of the training split)";
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
        const size_t colon = spec.find(':', start);
        parts.push_back(spec.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    if (parts.size() < 2 || parts.size() > 3 || parts[0] != "fashion-mnist")
        throw UsageError("--calib", "'" + spec + "': " + usage);
    if (parts[1] != "train")
        throw UsageError("--calib", "'" + spec + "': calibration images come from the train split (" + usage + ")");
    CalibSpec c{parts[0], parts[1]};
    if (parts.size() == 3) {
        size_t used = 0;
        long long n = -1;
        try {
            n = std::stoll(parts[2], &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != parts[2].size() || n < 0) throw UsageError("--calib", "'" + parts[2] + "' is not an image count (" + usage + ")");
        c.images = n;
    }
    return c;
}

Tensor calibration_images(const CalibSpec& c, const data::ImageDataset& train) {
    if (c.images == 0) throw InputError("--calib", "fashion-mnist:train:0 is an empty calibration set (N must be at least 1)");
    if (c.images > train.size())
        throw InputError("--calib", format("fashion-mnist:train has %lld images; %lld asked for",
                                           static_cast<long long>(train.size()), static_cast<long long>(c.images)));
    // The first N images: the split is already shuffled, and any peer can take the same ones.
    const Shape& s = train.images.shape();
    return Tensor::from_floats({c.images, s[1], s[2], s[3]},
                               std::span<const float>(train.image(0), static_cast<size_t>(c.images * train.image_numel())));
}

graph::Graph load_graph(const std::string& path) {
    if (graph::graph_file_format(path) != graph::GraphFileFormat::none) return graph::import_graph_file(path);
    return interop::load_classifier_graph(path);  // a classifier from tern train
}

// "int8" / "int4" / "int2" -> bits; UsageError with the list otherwise.
int parse_weight_bits(const std::string& w) {
    if (w.empty() || w == "int8") return 8;
    if (w == "int6") return 6;
    if (w == "int4") return 4;
    if (w == "int2") return 2;
    throw UsageError("--weights", "'" + w + "' is not a weight type for an .onnx output (int8, int6, int4, int2)");
}

}  // namespace

void run_quantize_graph(const QuantizeGraphOptions& o) {
    const bool mixed = o.method == "mixed";
    if (!mixed && (o.avg_bits != 0 || o.size_kb != 0 || !o.bit_choices.empty() || !o.pareto_png.empty() || o.val_images != 0))
        throw UsageError(o.avg_bits != 0 ? "--avg-bits" : o.size_kb != 0 ? "--size-kb" : !o.bit_choices.empty() ? "--bit-choices"
                         : !o.pareto_png.empty() ? "--pareto-png" : "--val-images",
                         "applies to --method mixed only");
    if (mixed && (!o.weights.empty() || o.adaround_iters != 0 || o.bias_correction || o.equalize))
        throw UsageError(!o.weights.empty() ? "--weights" : o.adaround_iters != 0 ? "--adaround-iters"
                         : o.bias_correction ? "--bias-correction" : "--equalize",
                         "does not combine with --method mixed (it chooses per-layer widths for nearest rounding)");
    quant::GraphPtqOptions po;
    po.adaround = o.method == "adaround";
    if (o.adaround_iters != 0 && !po.adaround)
        throw UsageError("--adaround-iters", "applies to --method adaround only");
    if (o.adaround_iters < 0) throw UsageError("--adaround-iters", format("%d: must be at least 1", o.adaround_iters));
    if (o.adaround_iters > 0) po.adaround_options.iterations = o.adaround_iters;
    po.observer = po.adaround || mixed ? quant::ObserverKind::minmax
                                       : quant::parse_observer_kind(o.method.empty() ? "minmax" : o.method);
    po.weight_bits = parse_weight_bits(o.weights);
    po.bias_correction = o.bias_correction;
    po.equalize = o.equalize;
    if (!o.acts.empty() && o.acts != "uint8" && o.acts != "int8")
        throw UsageError("--acts", "'" + o.acts + "' is not an activation type for an .onnx output (uint8, int8)");
    po.grid.is_unsigned = o.acts != "int8";
    po.grid.symmetric = o.symmetric_acts;
    po.where = o.model;
    const CalibSpec spec = parse_calib(o.calib);
    const MixedBudget budget = mixed ? parse_mixed_budget(o) : MixedBudget{};
    check_output_path(o.output, {o.model});
    if (!o.pareto_png.empty()) check_output_path(o.pareto_png, {o.model, o.output});
    const graph::Graph fp32 = load_graph(o.model);
    if (mixed) check_mixed_budget(budget, po, fp32);
    const data::ImageDataset train = data::load_fashion_mnist(spec.split);
    const Tensor calib = calibration_images(spec, train);
    const std::string calib_text = spec.dataset + ":" + spec.split + ":" + std::to_string(spec.images);
    if (mixed) return run_quantize_mixed(o, budget, po, fp32, calib, calib_text, train);
    const quant::GraphPtqResult r = quant::quantize_graph_static(fp32, calib, po);
    graph::QdqFuseStats fused;
    (void)graph::fuse_qdq(r.graph, &fused);  // what tern will run integer-only
    graph::export_onnx_file(r.graph, o.output);
    const std::string acts = std::string(po.grid.is_unsigned ? "uint8" : "int8") + (po.grid.symmetric ? " symmetric" : " asymmetric");
    const std::string method = po.adaround ? "adaround (min-max activations)" : quant::observer_kind_name(po.observer);
    const std::string weights = format("int%d symmetric per-channel", po.weight_bits) +
                                (po.equalize ? ", equalized" : "") + (po.bias_correction ? ", bias-corrected" : "");
    if (o.json) {
        Json j;
        j["input"] = o.model;
        j["output"] = o.output;
        j["method"] = method;
        j["calib"] = calib_text;
        j["weights"] = weights;
        j["weight_bits"] = po.weight_bits;
        if (po.adaround) {
            j["adaround"] = {{"layers", r.refined.adarounded}, {"iterations", po.adaround_options.iterations},
                             {"reconstruction_nearest", r.refined.rec_nearest}, {"reconstruction_adaround", r.refined.rec_adaround},
                             {"skipped", r.refined.skipped}};
        }
        if (po.bias_correction) j["bias_corrected_layers"] = r.refined.bias_corrected;
        if (po.equalize) j["equalized_pairs"] = r.equalized.pairs;
        j["activations"] = acts;
        j["quantized_ops"] = r.quantized_ops;
        j["integer_ops"] = {{"conv", fused.convs}, {"matmul", fused.matmuls}, {"gemm", fused.gemms}};
        Json rows = Json::array();
        for (const auto& a : r.activations)
            rows.push_back({{"tensor", a.tensor}, {"min", a.range.lo}, {"max", a.range.hi}, {"scale", a.params.scale},
                            {"zero_point", a.params.zero_point}});
        j["tensors"] = rows;
        print_json(j);
        return;
    }
    TextTable t({"tensor", "min", "max", "scale", "zero point"});
    for (const auto& a : r.activations)
        t.add_row({a.tensor, fmt_fixed(a.range.lo, 4), fmt_fixed(a.range.hi, 4), format("%.6g", a.params.scale),
                   std::to_string(a.params.zero_point)});
    t.print();
    if (po.equalize) std::printf("\ncross-layer equalization: %d pairs, %d sweeps\n", r.equalized.pairs, r.equalized.sweeps);
    if (po.adaround)
        std::printf("\nadaround: %d layers, %d iterations each; summed reconstruction error %.6g (nearest) -> %.6g\n",
                    r.refined.adarounded, po.adaround_options.iterations, r.refined.rec_nearest, r.refined.rec_adaround);
    if (po.bias_correction) std::printf("\nbias correction: %d layers\n", r.refined.bias_corrected);
    std::printf("\n%s -> %s: %d Conv/Gemm/MatMul with %s weights, %zu activation ranges (%s, %s over %lld "
                "%s %s images); integer-only in tern: %d conv, %d gemm, %d matmul\n",
                o.model.c_str(), o.output.c_str(), r.quantized_ops, weights.c_str(), r.activations.size(), acts.c_str(), method.c_str(),
                static_cast<long long>(spec.images), spec.dataset.c_str(), spec.split.c_str(), fused.convs, fused.gemms,
                fused.matmuls);
}

}  // namespace tern::cli
