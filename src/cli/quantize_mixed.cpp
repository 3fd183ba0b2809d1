#include "cli/quantize_mixed.h"

#include <cmath>
#include <cstdio>
#include <memory>

#include "core/error.h"
#include "core/json_out.h"
#include "core/table.h"
#include "graph/onnx_export.h"
#include "graph/qdq_fuse.h"
#include "nn/train/trainer.h"
#include "quant/mixed_precision.h"

namespace tern::cli {
namespace {

constexpr int64_t kDefaultValImages = 1000;

std::vector<int> parse_bit_choices(const std::string& text) {
    if (text.empty()) return {8, 6, 4, 2};
    std::vector<int> bits;
    for (size_t start = 0;;) {
        const size_t comma = text.find(',', start);
        const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        size_t used = 0;
        int b = 0;
        try {
            b = std::stoi(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != item.size())
            throw UsageError("--bit-choices", "'" + text + "': a comma list of widths from 8, 6, 4, 2");
        bits.push_back(b);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return bits;
}

// The first n of the validation images tern train holds out with its default
// recipe (validation 5000, seed 1): the models in models/ never trained on them.
data::ImageDataset validation_images(const data::ImageDataset& train, int64_t n) {
    nn::train::Recipe r;
    r.source = "--val-images";
    const nn::train::TrainData d = nn::train::split_train_data(r, std::make_shared<data::ImageDataset>(train));
    std::vector<int64_t> first(static_cast<size_t>(std::min(n, d.validation->size())));
    for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
    return data::subset(*d.validation, first);
}

std::string bits_list(const std::vector<int>& bits) {
    std::string s;
    for (int b : bits) s += (s.empty() ? "" : ",") + std::to_string(b);
    return s;
}

double average_bits(const quant::MixedPrecisionReport& r, int64_t bytes) {
    return static_cast<double>(bytes) * 8 / static_cast<double>(r.total_weights);
}

}  // namespace

MixedBudget parse_mixed_budget(const QuantizeGraphOptions& o) {
    MixedBudget b;
    b.bit_choices = parse_bit_choices(o.bit_choices);
    if ((o.avg_bits != 0) == (o.size_kb != 0))
        throw UsageError("--avg-bits", "--method mixed takes one budget: --avg-bits B or --size-kb S");
    if (o.avg_bits != 0 && !(std::isfinite(o.avg_bits) && o.avg_bits > 0 && o.avg_bits <= 32))
        throw UsageError("--avg-bits", format("%g: must be a number of bits per weight in (0, 32]", o.avg_bits));
    if (o.size_kb != 0 && !(std::isfinite(o.size_kb) && o.size_kb > 0 && o.size_kb < 1e12))
        throw UsageError("--size-kb", format("%g: must be a positive size in KB", o.size_kb));
    b.avg_bits = o.avg_bits;
    b.bytes = o.size_kb != 0 ? static_cast<int64_t>(std::floor(o.size_kb * 1024)) : 0;
    if (o.size_kb != 0 && b.bytes < 1) throw UsageError("--size-kb", format("%g KB is less than a byte", o.size_kb));
    return b;
}

namespace {

quant::MixedPrecisionOptions mixed_options(const MixedBudget& budget, const quant::GraphPtqOptions& ptq) {
    quant::MixedPrecisionOptions mo;
    mo.ptq = ptq;
    mo.bit_choices = budget.bit_choices;
    mo.avg_bits = budget.avg_bits;
    mo.budget_bytes = budget.bytes;
    mo.pareto = true;
    return mo;
}

}  // namespace

void check_mixed_budget(const MixedBudget& budget, const quant::GraphPtqOptions& ptq, const graph::Graph& fp32) {
    (void)quant::mixed_budget_bytes(fp32, mixed_options(budget, ptq));
}

void run_quantize_mixed(const QuantizeGraphOptions& o, const MixedBudget& budget, const quant::GraphPtqOptions& ptq,
                        const graph::Graph& fp32, const Tensor& calib, const std::string& calib_text,
                        const data::ImageDataset& train) {
    const quant::MixedPrecisionOptions mo = mixed_options(budget, ptq);
    const data::ImageDataset val = validation_images(train, o.val_images ? o.val_images : kDefaultValImages);
    const quant::MixedPrecisionResult r = quant::quantize_graph_mixed(fp32, calib, val, mo);
    const quant::MixedPrecisionReport& rep = r.report;
    graph::QdqFuseStats fused;
    (void)graph::fuse_qdq(r.ptq.graph, &fused);  // what tern will run integer-only
    graph::export_onnx_file(r.ptq.graph, o.output);
    if (!o.pareto_png.empty()) quant::write_pareto_png(o.pareto_png, rep);

    if (o.json) {
        Json j;
        j["input"] = o.model;
        j["output"] = o.output;
        j["method"] = "mixed";
        j["calib"] = calib_text;
        j["validation_images"] = rep.validation_images;
        j["bit_choices"] = rep.bit_choices;
        j["budget_bytes"] = rep.budget_bytes;
        j["min_bytes"] = rep.min_bytes;
        j["max_bytes"] = rep.max_bytes;
        j["total_weights"] = rep.total_weights;
        j["fp32_val"] = {{"loss", rep.fp32.loss}, {"accuracy", rep.fp32.accuracy}};
        Json layers = Json::array();
        for (size_t l = 0; l < rep.layers.size(); ++l)
            layers.push_back({{"layer", rep.layers[l].layer.node}, {"weights", rep.layers[l].layer.weights},
                              {"loss_increase", rep.layers[l].loss_increase}, {"accuracy", rep.layers[l].accuracy},
                              {"bits", rep.chosen.bits[l]}});
        j["layers"] = layers;
        auto point = [&](const quant::BitAssignment& p) {
            return Json{{"label", p.label}, {"bits", p.bits}, {"bytes", p.bytes}, {"avg_bits", average_bits(rep, p.bytes)},
                        {"predicted_loss_increase", p.predicted_loss_increase}, {"val_loss", p.measured.loss},
                        {"val_accuracy", p.measured.accuracy}, {"pareto", p.pareto}};
        };
        j["chosen"] = point(rep.chosen);
        Json points = Json::array();
        for (const auto& p : rep.points) points.push_back(point(p));
        j["points"] = points;
        j["integer_ops"] = {{"conv", fused.convs}, {"matmul", fused.matmuls}, {"gemm", fused.gemms}};
        if (!o.pareto_png.empty()) j["pareto_png"] = o.pareto_png;
        print_json(j);
        return;
    }
    std::vector<std::string> header{"layer", "weights"};
    for (int b : rep.bit_choices) header.push_back(format("loss +%d-bit", b));
    header.push_back("bits");
    TextTable t(header);
    for (size_t l = 0; l < rep.layers.size(); ++l) {
        std::vector<std::string> row{rep.layers[l].layer.node, std::to_string(rep.layers[l].layer.weights)};
        for (double d : rep.layers[l].loss_increase) row.push_back(format("%+.4f", d));
        row.push_back(std::to_string(rep.chosen.bits[l]));
        t.add_row(row);
    }
    std::printf("sensitivity: validation loss increase with one layer's weights quantized, the rest fp32 "
                "(%lld validation images; fp32 loss %.4f, accuracy %.2f%%)\n",
                static_cast<long long>(rep.validation_images), rep.fp32.loss, 100 * rep.fp32.accuracy);
    t.print();
    TextTable p({"points", "avg bits", "weights KB", "predicted loss +", "val loss", "val accuracy %", "Pareto"});
    for (const auto& q : rep.points)
        p.add_row({q.label + (q.bits == rep.chosen.bits && q.label == "mixed" ? " (chosen)" : ""),
                   fmt_fixed(average_bits(rep, q.bytes), 2), fmt_fixed(static_cast<double>(q.bytes) / 1024, 2),
                   format("%+.4f", q.predicted_loss_increase), fmt_fixed(q.measured.loss, 4),
                   fmt_fixed(100 * q.measured.accuracy, 2), q.pareto ? "*" : ""});
    std::printf("\nPareto table: QDQ models run integer-only on the validation images\n");
    p.print();
    std::printf("\n%s -> %s: widths %s over %zu layers; weights %.2f KB (%.2f bits per weight) within the budget %.2f KB; "
                "validation accuracy %.2f%% (fp32 %.2f%%); activations %s by min-max over %s; integer-only in tern: "
                "%d conv, %d gemm, %d matmul%s\n",
                o.model.c_str(), o.output.c_str(), bits_list(rep.chosen.bits).c_str(), rep.layers.size(),
                static_cast<double>(rep.chosen.bytes) / 1024, average_bits(rep, rep.chosen.bytes),
                static_cast<double>(rep.budget_bytes) / 1024, 100 * rep.chosen.measured.accuracy, 100 * rep.fp32.accuracy,
                ptq.grid.is_unsigned ? "uint8" : "int8", calib_text.c_str(), fused.convs, fused.gemms, fused.matmuls,
                o.pareto_png.empty() ? "" : ("; plot " + o.pareto_png).c_str());
}

}  // namespace tern::cli
