#include "cli/quantize_graph.h"
#include "cli/graph_bench.h"
#include "cli/quantize_mixed.h"

#include <algorithm>
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
#include "vision/calibration_set.h"
#include "vision/image_tensor.h"

namespace tern::cli {
namespace {

constexpr int64_t kDefaultCalibImages = 512;

// The first N images of fashion-mnist:train. Only the training split
// (vision::parse_graph_calib refuses others): test images would flatter the
// accuracy measured on them.
Tensor fashion_calibration_images(int64_t images, const data::ImageDataset& train) {
    if (images > train.size())
        throw InputError("--calib", format("fashion-mnist:train has %lld images; %lld asked for",
                                           static_cast<long long>(train.size()), static_cast<long long>(images)));
    // The first N images: the split is already shuffled, and any peer can take the same ones.
    const Shape& s = train.images.shape();
    return Tensor::from_floats({images, s[1], s[2], s[3]},
                               std::span<const float>(train.image(0), static_cast<size_t>(images * train.image_numel())));
}

// --calib-norm's value as a vision::ImageNorm; the UsageError names --calib-norm.
vision::ImageNorm calib_norm_of(const std::string& name) {
    try {
        return vision::parse_image_norm(name);
    } catch (const UsageError& e) {
        throw UsageError("--calib-norm", e.detail());
    }
}

// The graph input's known shape, or an empty Shape.
Shape graph_input_shape(const graph::Graph& g) {
    if (g.inputs.size() != 1) return {};
    auto it = g.values.find(g.inputs[0]);
    return it == g.values.end() || !it->second.shape ? Shape{} : *it->second.shape;
}

// Pictures or an .npy batch for a graph that does not read Fashion-MNIST; `text` describes them.
Tensor external_calibration(const vision::GraphCalibSource& src, const QuantizeGraphOptions& o, const graph::Graph& g,
                            std::string& text) {
    const Shape input = graph_input_shape(g);
    if (src.kind == vision::GraphCalibSource::Kind::npy) {
        const Tensor t = vision::calibration_npy(src.path, input.empty() ? -1 : static_cast<int64_t>(input.size()));
        text = src.spec + " (" + shape_to_string(t.shape()) + ")";
        return t;
    }
    Shape chw;
    if (!o.calib_shape.empty()) {
        chw = parse_shape_option("--calib-shape", o.calib_shape);
        if (chw.size() == 4) chw.erase(chw.begin());
        if (chw.size() != 3) throw UsageError("--calib-shape", "'" + o.calib_shape + "': want CxHxW or NxCxHxW, e.g. 1x3x48x192");
    } else {
        const bool known = input.size() == 4 && std::all_of(input.begin() + 1, input.end(), [](int64_t d) { return d > 0; });
        if (!known)
            throw UsageError("--calib-shape", "the model's input " + (input.empty() ? std::string("shape is unknown")
                                                                                       : "is " + shape_to_string(input)) +
                                                  "; say the pictures' size, e.g. --calib-shape 1x3x48x192");
        chw.assign(input.begin() + 1, input.end());
    }
    const vision::ImageNorm norm = calib_norm_of(o.calib_norm);
    const Tensor t = vision::calibration_pictures(src.path, src.count, chw[0], chw[1], chw[2], norm);
    text = format("%s (%lld pictures, %lldx%lld, %s)", src.spec.c_str(), static_cast<long long>(t.dim(0)),
                  static_cast<long long>(chw[2]), static_cast<long long>(chw[1]), o.calib_norm.c_str());
    return t;
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
    const vision::GraphCalibSource src = vision::parse_graph_calib(o.calib.empty() ? "fashion-mnist:train" : o.calib);
    using CalibKind = vision::GraphCalibSource::Kind;
    if (src.kind != CalibKind::images && (!o.calib_norm.empty() || !o.calib_shape.empty()))
        throw UsageError(o.calib_norm.empty() ? "--calib-shape" : "--calib-norm", "applies to --calib images:DIR only");
    if (src.kind == CalibKind::images && o.calib_norm.empty())
        throw UsageError("--calib-norm", std::string("is required with --calib images:DIR (how pictures become the model's input: ") +
                                             vision::kImageNormNames + ")");
    if (src.kind == CalibKind::images) (void)calib_norm_of(o.calib_norm);
    if (mixed && src.kind != CalibKind::fashion_mnist)
        throw UsageError("--calib", "--method mixed scores layers on Fashion-MNIST validation images; calibrate it on fashion-mnist:train:N");
    if (!o.calib_shape.empty()) (void)parse_shape_option("--calib-shape", o.calib_shape);
    const MixedBudget budget = mixed ? parse_mixed_budget(o) : MixedBudget{};
    check_output_path(o.output, {o.model});
    if (!o.pareto_png.empty()) check_output_path(o.pareto_png, {o.model, o.output});
    const graph::Graph fp32 = load_graph(o.model);
    if (mixed) check_mixed_budget(budget, po, fp32);
    std::string calib_text;
    Tensor calib;
    data::ImageDataset train;
    if (src.kind == CalibKind::fashion_mnist) {
        train = data::load_fashion_mnist(src.path);
        const int64_t images = src.count > 0 ? src.count : kDefaultCalibImages;
        calib = fashion_calibration_images(images, train);
        calib_text = "fashion-mnist:train:" + std::to_string(images);
    } else {
        calib = external_calibration(src, o, fp32, calib_text);
    }
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
    std::printf("\n%s -> %s: %d Conv/Gemm/MatMul with %s weights, %zu activation ranges (%s, %s over %s); "
                "integer-only in tern: %d conv, %d gemm, %d matmul\n",
                o.model.c_str(), o.output.c_str(), r.quantized_ops, weights.c_str(), r.activations.size(), acts.c_str(), method.c_str(),
                calib_text.c_str(), fused.convs, fused.gemms, fused.matmuls);
}

}  // namespace tern::cli
