// quant/mixed_precision: the knapsack against exhaustive search, a
// deliberately sensitive layer getting the wider codes, sensitivity and choice
// against a PyTorch transcription (tests/ref/mixed_precision_ref.py), and the written
// mixed-width QDQ model running integer-only in tern and in ONNX Runtime.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "graph/executor.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/ort_reference.h"
#include "graph/qdq_fuse.h"
#include "interop/classifier_graph.h"
#include "interop/export_test_util.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "nn/torch_ref.h"
#include "quant/mixed_precision.h"
#include "ref/reference.h"

namespace tern::quant {
namespace {

using testinterop::predictions;

LayerSensitivity row(const std::string& name, int64_t weights, std::vector<double> loss) {
    return {{name, name + "_w", 0, weights, 8}, std::move(loss), {}};
}

TEST(MixedPrecision, ChoiceMatchesExhaustiveSearchAndFitsEveryBudget) {
    const std::vector<int> choices{8, 6, 4, 2};
    // Loss increases per choice; layer 2 is small but sensitive, layer 4 large and robust.
    const std::vector<LayerSensitivity> table{row("a", 300, {0.001, 0.004, 0.03, 0.4}), row("b", 1200, {0.0, 0.002, 0.01, 0.2}),
                                              row("c", 90, {0.0, 0.05, 0.9, 2.5}), row("d", 4000, {0.0, 0.0, 0.003, 0.05}),
                                              row("e", 777, {-0.001, 0.01, 0.02, 0.6})};
    std::vector<QuantizableLayer> layers;
    for (const auto& t : table) layers.push_back(t.layer);
    const int64_t smallest = packed_weight_bytes(layers, std::vector<int>(5, 2));
    const int64_t largest = packed_weight_bytes(layers, std::vector<int>(5, 8));
    EXPECT_FALSE(choose_bits(table, choices, smallest - 1)) << "below the all-2-bit size nothing fits";
    for (int64_t budget = smallest; budget <= largest + 10; budget += 97) {
        const auto got = choose_bits(table, choices, budget);
        ASSERT_TRUE(got) << budget;
        EXPECT_LE(packed_weight_bytes(layers, *got), budget);
        double best = std::numeric_limits<double>::infinity(), mine = 0;
        for (int code = 0; code < 4 * 4 * 4 * 4 * 4; ++code) {
            std::vector<int> bits;
            double sum = 0;
            for (int l = 0, c = code; l < 5; ++l, c /= 4) {
                bits.push_back(choices[static_cast<size_t>(c % 4)]);
                sum += table[static_cast<size_t>(l)].loss_increase[static_cast<size_t>(c % 4)];
            }
            if (packed_weight_bytes(layers, bits) <= budget) best = std::min(best, sum);
        }
        for (size_t l = 0; l < 5; ++l)
            mine += table[l].loss_increase[static_cast<size_t>(std::find(choices.begin(), choices.end(), (*got)[l]) - choices.begin())];
        EXPECT_NEAR(mine, best, 1e-12) << "budget " << budget;
    }
}

// image (N,1,8,8) -> Flatten -> Gemm A (32 x 64) -> Relu -> Gemm B (10 x 32) -> logits.
// Hidden unit 0 is dead (zero weights, bias -1), and B reads it with weight 10
// in every row: fp32 never sees it, but it sets B's per-row scale, so at 4 bits
// B's ordinary weights (|w| <= 0.5, step 10/7) all round to zero.
graph::Graph outlier_graph() {
    graph::Graph g;
    g.name = "outlier";
    g.opset = 13;
    g.inputs = {"image"};
    g.outputs = {"logits"};
    g.values["image"] = {Shape{-1, 1, 8, 8}, DType::f32};
    g.values["logits"] = {Shape{-1, 10}, DType::f32};
    std::vector<float> a(32 * 64), ab(32, 0.1f), b(10 * 32), bb(10, 0.f);
    for (size_t i = 0; i < a.size(); ++i) a[i] = i < 64 ? 0.f : 0.3f * std::sin(1.3f * static_cast<float>(i));
    ab[0] = -1.f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = i % 32 == 0 ? 10.f : 0.5f * std::sin(0.9f * static_cast<float>(i) + 0.4f);
    g.initializers["A"] = Tensor::from_floats({32, 64}, a);
    g.initializers["Ab"] = Tensor::from_floats({32}, ab);
    g.initializers["B"] = Tensor::from_floats({10, 32}, b);
    g.initializers["Bb"] = Tensor::from_floats({10}, bb);
    graph::Attribute axis, trans;
    axis.i = 1;
    trans.i = 1;
    g.nodes.push_back({"Flatten", "flatten", {"image"}, {"flat"}, {{"axis", axis}}});
    g.nodes.push_back({"Gemm", "A", {"flat", "A", "Ab"}, {"h"}, {{"transB", trans}}});
    g.nodes.push_back({"Relu", "relu", {"h"}, {"hr"}, {}});
    g.nodes.push_back({"Gemm", "B", {"hr", "B", "Bb"}, {"logits"}, {{"transB", trans}}});
    return g;
}

// 256 pseudo-random images labelled by the fp32 model itself (fp32 accuracy 1).
data::ImageDataset labelled_by(const graph::Graph& g) {
    data::ImageDataset d;
    std::vector<float> x(256 * 64);
    uint32_t s = 12345;
    for (float& v : x) {
        s = s * 1664525u + 1013904223u;
        v = static_cast<float>(s >> 8) / static_cast<float>(1 << 24) * 4.f - 2.f;
    }
    d.images = Tensor::from_floats({256, 1, 8, 8}, x);
    d.num_classes = 10;
    const std::vector<int> p = predictions(graph::Executor(g).run({{"image", d.images}}).at("logits"));
    d.labels.assign(p.begin(), p.end());
    return d;
}

TEST(MixedPrecision, ADeliberatelySensitiveLayerGetsMoreBits) {
    const graph::Graph g = outlier_graph();
    const data::ImageDataset val = labelled_by(g);
    MixedPrecisionOptions o;
    o.avg_bits = 4;
    o.pareto = false;
    const MixedPrecisionResult r = quantize_graph_mixed(g, val.images, val, o);
    const auto& t = r.report.layers;
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0].layer.node, "A");
    EXPECT_EQ(t[1].layer.node, "B");
    EXPECT_NEAR(r.report.fp32.accuracy, 1.0, 1e-12);
    // choices 8, 6, 4, 2: index 2 is 4 bits
    EXPECT_GT(t[1].loss_increase[2], 10 * std::max(t[0].loss_increase[2], 1e-3)) << "B is the sensitive one";
    EXPECT_LT(t[1].accuracy[2], 0.5);
    EXPECT_GT(r.report.chosen.bits[1], r.report.chosen.bits[0]);
    EXPECT_GE(r.report.chosen.bits[1], 6);
    EXPECT_LE(r.report.chosen.bytes, r.report.budget_bytes);
    EXPECT_EQ(r.report.budget_bytes, (32 * 64 + 10 * 32) * 4 / 8);
    EXPECT_EQ(r.ptq.layers[1].bits, r.report.chosen.bits[1]);
    // The mixed model beats uniform 4-bit at the same size on these images.
    GraphPtqOptions uniform;
    uniform.weight_bits = 4;
    const GraphPtqResult u = quantize_graph_static(g, val.images, uniform);
    const ValidationScore u4 = score_classifier(graph::fuse_qdq(u.graph), val, 64, "uniform");
    EXPECT_GT(r.report.chosen.measured.accuracy, u4.accuracy + 0.2);
}

TEST(MixedPrecision, SensitivityAndChoiceFollowAPyTorchTranscription) {
    const graph::Graph g = outlier_graph();
    const data::ImageDataset val = labelled_by(g);
    MixedPrecisionOptions o;
    o.avg_bits = 4;
    o.pareto = false;
    const MixedPrecisionResult r = quantize_graph_mixed(g, val.images, val, o);
    nn::test::RefCase c;
    c.name = "outlier_mlp";
    c.params = {{"choices", o.bit_choices}, {"budget_bytes", r.report.budget_bytes}};
    const std::vector<float> labels(val.labels.begin(), val.labels.end());
    c.inputs = {{"x", val.images}, {"labels", Tensor::from_floats({val.size()}, labels)}, {"A", g.initializers.at("A")},
                {"Ab", g.initializers.at("Ab")}, {"B", g.initializers.at("B")}, {"Bb", g.initializers.at("Bb")}};
    const nn::test::TorchRef ref = nn::test::run_torch_cases("mixed_precision_ref.py", {c}, "tern_mixed_precision_ref_cache");
    if (ref.outputs.empty()) {
        TERN_REQUIRE_REFERENCE(ref.reference);
    }
    ASSERT_TRUE(ref.find(c.name, "loss_increase") && ref.find(c.name, "bits"));
    const std::vector<float> want = ref.find(c.name, "loss_increase")->to_floats(), bits = ref.find(c.name, "bits")->to_floats();
    ASSERT_EQ(want.size(), 8u);
    for (size_t l = 0; l < 2; ++l)
        for (size_t k = 0; k < 4; ++k)
            EXPECT_NEAR(r.report.layers[l].loss_increase[k], want[l * 4 + k], 1e-4 + 1e-3 * std::fabs(want[l * 4 + k]))
                << r.report.layers[l].layer.node << " at " << o.bit_choices[k] << " bits";
    EXPECT_EQ(r.report.chosen.bits, (std::vector<int>{static_cast<int>(bits[0]), static_cast<int>(bits[1])}));
}

TEST(MixedPrecision, BadBudgetsAndChoicesAreRefused) {
    const graph::Graph g = outlier_graph();
    const data::ImageDataset val = labelled_by(g);
    auto run = [&](double avg, int64_t bytes, std::vector<int> choices) {
        MixedPrecisionOptions o;
        o.avg_bits = avg;
        o.budget_bytes = bytes;
        o.bit_choices = std::move(choices);
        o.pareto = false;
        o.ptq.where = "outlier.onnx";
        return quantize_graph_mixed(g, val.images, val, o);
    };
    EXPECT_THROW(run(1.5, 0, {8, 6, 4, 2}), InputError);  // below all-2-bit
    try {
        run(0, 100, {8, 4});
        ADD_FAILURE() << "100 bytes is below the all-4-bit size";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("outlier.onnx"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("4 bits"), std::string::npos) << e.what();
    }
    EXPECT_THROW(run(0, 0, {8, 4}), UsageError);  // no budget
    EXPECT_THROW(run(4, 600, {8, 4}), UsageError);  // two budgets
    EXPECT_THROW(run(NAN, 0, {8, 4}), UsageError);
    EXPECT_THROW(run(-4, 0, {8, 4}), UsageError);
    EXPECT_THROW(run(4, 0, {8, 5}), UsageError);
    EXPECT_THROW(run(4, 0, {8, 8}), UsageError);
    EXPECT_THROW(run(4, 0, {}), UsageError);
    EXPECT_THROW(run(1e300, 0, {8, 4}), UsageError);
    const MixedPrecisionResult wide = run(16, 0, {8, 4});  // above all-8-bit: every layer at 8
    EXPECT_EQ(wide.report.chosen.bits, (std::vector<int>{8, 8}));
}

TEST(MixedPrecision, LeNet300MixedFileRunsIntegerOnlyAndMatchesOnnxRuntime) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    const data::ImageDataset test = data::load_fashion_mnist("t10k");
    auto rows = [&](int64_t first, int64_t n) {
        std::vector<int64_t> idx(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = first + i;
        return data::subset(test, idx);
    };
    const data::ImageDataset val = rows(0, 300), calib = rows(5000, 128);
    const graph::Graph fp32 = interop::load_classifier_graph(testinterop::model_path("fmnist-lenet300"));
    MixedPrecisionOptions o;
    o.avg_bits = 4;
    o.pareto = false;
    const MixedPrecisionResult r = quantize_graph_mixed(fp32, calib.images, val, o);
    ASSERT_EQ(r.ptq.layers.size(), 3u);
    EXPECT_LE(r.report.chosen.bytes, r.report.budget_bytes);
    for (const QuantizableLayer& l : r.ptq.layers) {
        const Tensor& codes = r.ptq.graph.initializers.at(l.node + "_W_quantized");
        int top = 0;
        for (int64_t i = 0; i < codes.numel(); ++i) top = std::max(top, std::abs(static_cast<int>(codes.data<int8_t>()[i])));
        EXPECT_EQ(top, weight_qmax(l.bits)) << l.node << " at " << l.bits << " bits";
    }
    testio::TempDir dir;
    const std::string model = dir.file("mixed.onnx");
    graph::export_onnx_file(r.ptq.graph, model);
    graph::QdqFuseStats stats;
    const graph::Graph fused = graph::fuse_qdq(graph::import_onnx_file(model), &stats);
    EXPECT_EQ(stats.gemms, 3);
    for (const auto& n : fused.nodes) EXPECT_NE(n.op_type, "Gemm");
    const ValidationScore s = score_classifier(fused, val, 100, "mixed");
    EXPECT_NEAR(s.accuracy, r.report.chosen.measured.accuracy, 1e-12);
    EXPECT_GT(s.accuracy, 0.8);

    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    const data::ImageDataset few = rows(0, 16);
    write_npy(dir.file("x.npy"), few.images);
    const Tensor ort = read_npy(testref::ort_run(model, {{interop::kImageInput, dir.file("x.npy")}}, dir.file("ort")).outputs.at(0).file);
    const Tensor tern = graph::Executor(fused).run({{interop::kImageInput, few.images}}).at(interop::kLogitsOutput);
    ASSERT_EQ(tern.shape(), ort.shape());
    EXPECT_EQ(predictions(tern), predictions(ort));
}

}  // namespace
}  // namespace tern::quant
