// Graph PTQ below 8 bits (quant/graph_ptq.h): int4 / int2 codes in the int8
// containers, cross-layer equalization (quant/cross_layer_equalization.h) that
// leaves the fp32 function as it was, and bias correction
// (quant/graph_weight_refine.h) that zeroes the mean output error on the
// calibration images. Small graphs built here; no data set needed.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/executor.h"
#include "quant/cross_layer_equalization.h"
#include "quant/graph_ptq.h"
#include "quant/graph_ptq_test_util.h"

namespace tern::quant {
namespace {

using graph::Attribute;
using graph::Graph;

Attribute graph_weight_refine_ints(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Attribute::Kind::ints;
    a.ints = std::move(v);
    return a;
}
Attribute one(int64_t v) {
    Attribute a;
    a.i = v;
    return a;
}

// Weights whose output channel c is scaled by 4^(c mod 3 - 1): ranges that differ
// by 16x across channels, what equalization is for.
Tensor uneven(Shape shape, uint64_t seed, bool by_row = true) {
    const int64_t n = shape_numel(shape), rows = shape[0], per = n / rows;
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = by_row ? i / per : i % shape[1];
        v[static_cast<size_t>(i)] = std::sin(0.37f * static_cast<float>(i + 13 * seed)) *
                                    std::pow(4.f, static_cast<float>(c % 3) - 1.f) * 0.4f;
    }
    return Tensor::from_floats(shape, v);
}

// image (N, 2, 8, 8) -> Conv 3x3 (4) -> Relu -> MaxPool 2 -> depthwise Conv 3x3 -> Relu
// -> Conv 1x1 (3) -> Flatten -> Gemm (5, transB) -> Relu -> Gemm (5 -> 2, W as (K, N)).
Graph conv_chain() {
    Graph g;
    g.name = "conv_chain";
    g.opset = 13;
    g.inputs = {"image"};
    g.outputs = {"logits"};
    g.values["image"] = {Shape{-1, 2, 8, 8}, DType::f32};
    g.initializers["w1"] = uneven({4, 2, 3, 3}, 1);
    g.initializers["b1"] = Tensor::from_floats({4}, std::vector<float>{0.1f, -0.2f, 0.3f, 0.05f});
    g.initializers["w2"] = uneven({4, 1, 3, 3}, 2);
    g.initializers["b2"] = Tensor::from_floats({4}, std::vector<float>{0.2f, 0.1f, -0.1f, 0.0f});
    g.initializers["w3"] = uneven({3, 4, 1, 1}, 3);
    g.initializers["w4"] = uneven({5, 48}, 4);
    g.initializers["b4"] = Tensor::from_floats({5}, std::vector<float>{0.1f, 0.2f, 0.3f, -0.4f, 0.0f});
    g.initializers["w5"] = uneven({5, 2}, 5, false);
    g.nodes.push_back({"Conv", "conv1", {"image", "w1", "b1"}, {"c1"}, {{"pads", graph_weight_refine_ints({1, 1, 1, 1})}}});
    g.nodes.push_back({"Relu", "relu1", {"c1"}, {"r1"}, {}});
    g.nodes.push_back({"MaxPool", "pool", {"r1"}, {"p1"}, {{"kernel_shape", graph_weight_refine_ints({2, 2})}, {"strides", graph_weight_refine_ints({2, 2})}}});
    g.nodes.push_back({"Conv", "dw", {"p1", "w2", "b2"}, {"c2"}, {{"pads", graph_weight_refine_ints({1, 1, 1, 1})}, {"group", one(4)}}});
    g.nodes.push_back({"Relu", "relu2", {"c2"}, {"r2"}, {}});
    g.nodes.push_back({"Conv", "project", {"r2", "w3"}, {"c3"}, {}});
    g.nodes.push_back({"Flatten", "flatten", {"c3"}, {"f"}, {{"axis", one(1)}}});
    g.nodes.push_back({"Gemm", "fc1", {"f", "w4", "b4"}, {"h"}, {{"transB", one(1)}}});
    g.nodes.push_back({"Relu", "relu3", {"h"}, {"hr"}, {}});
    g.nodes.push_back({"Gemm", "fc2", {"hr", "w5"}, {"logits"}, {}});
    return g;
}

Tensor graph_weight_refine_images(int64_t n, uint64_t seed) {
    std::vector<float> v(static_cast<size_t>(n * 2 * 64));
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::fabs(std::sin(0.11f * static_cast<float>(i) + static_cast<float>(seed)));
    return Tensor::from_floats({n, 2, 8, 8}, v);
}

Tensor graph_weight_refine_run(const Graph& g, const Tensor& x) { return graph::Executor(g).run({{"image", x}}).at("logits"); }

TEST(CrossLayerEqualization, KeepsTheFp32OutputAndEqualizesPairedChannelRanges) {
    const Graph g = conv_chain();
    EqualizeStats stats;
    const Graph e = equalize_cross_layer(g, &stats);
    EXPECT_EQ(stats.pairs, 3);  // conv1 -> dw (through Relu, MaxPool), dw -> project, fc1 -> fc2
    EXPECT_GE(stats.sweeps, 1);
    const Tensor x = graph_weight_refine_images(4, 1);
    const std::vector<float> before = graph_weight_refine_run(g, x).to_floats(), after = graph_weight_refine_run(e, x).to_floats();
    ASSERT_EQ(before.size(), after.size());
    for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(after[i], before[i], 1e-4f * std::max(1.f, std::fabs(before[i]))) << i;
    // fc1 row c and fc2 (K, N) row c end with the same largest |weight|.
    const std::vector<float> w4 = e.initializers.at("w4").to_floats(), w5 = e.initializers.at("w5").to_floats();
    const std::vector<float> w4_old = g.initializers.at("w4").to_floats();
    bool moved = false;
    for (int64_t c = 0; c < 5; ++c) {
        float r1 = 0, r2 = 0, r1_old = 0;
        for (int64_t j = 0; j < 48; ++j) {
            r1 = std::max(r1, std::fabs(w4[static_cast<size_t>(c * 48 + j)]));
            r1_old = std::max(r1_old, std::fabs(w4_old[static_cast<size_t>(c * 48 + j)]));
        }
        for (int64_t j = 0; j < 2; ++j) r2 = std::max(r2, std::fabs(w5[static_cast<size_t>(c * 2 + j)]));
        EXPECT_NEAR(r1, r2, 1e-3f * r1) << "channel " << c;
        moved = moved || std::fabs(r1 - r1_old) > 1e-3f * r1_old;
    }
    EXPECT_TRUE(moved);
    // The input graph's weights are untouched (no shared storage written through).
    EXPECT_EQ(g.initializers.at("w4").to_floats(), w4_old);
}

TEST(CrossLayerEqualization, StopsAtClipAndFlatten) {
    Graph g = conv_chain();
    for (auto& n : g.nodes)
        if (n.name == "relu3") {
            n.op_type = "Clip";
            g.initializers["zero"] = Tensor::from_floats({}, std::vector<float>{0.f});
            g.initializers["six"] = Tensor::from_floats({}, std::vector<float>{6.f});
            n.inputs = {"h", "zero", "six"};
        }
    EqualizeStats stats;
    const Graph e = equalize_cross_layer(g, &stats);
    EXPECT_EQ(stats.pairs, 2);  // fc1 -> Clip -> fc2 is not equalized; project -> Flatten -> fc1 never is
}

TEST(GraphPtqWeights, Int4AndInt2CodesStayOnTheirGridsInInt8Containers) {
    const Graph g = conv_chain();
    for (int bits : {4, 2}) {
        GraphPtqOptions o;
        o.weight_bits = bits;
        const GraphPtqResult r = quantize_graph_static(g, graph_weight_refine_images(16, 2), o);
        const int qmax = (1 << (bits - 1)) - 1;
        for (const char* name : {"conv1", "dw", "project", "fc1", "fc2"}) {
            const Tensor& codes = r.graph.initializers.at(std::string(name) + "_W_quantized");
            ASSERT_EQ(codes.dtype(), DType::i8);
            int top = 0;
            for (int64_t i = 0; i < codes.numel(); ++i) top = std::max(top, std::abs(int(codes.data<int8_t>()[i])));
            EXPECT_EQ(top, qmax) << name << " at " << bits << " bits";
        }
    }
    GraphPtqOptions bad;
    bad.weight_bits = 3;
    EXPECT_THROW(quantize_graph_static(g, graph_weight_refine_images(4, 2), bad), UsageError);
}

// Mean over the calibration images of (QDQ logits - fp32 logits), per class.
std::vector<double> mean_error(const Graph& fp32, const Graph& qdq, const Tensor& x) {
    const std::vector<float> f = graph_weight_refine_run(fp32, x).to_floats(), q = graph_weight_refine_run(qdq, x).to_floats();
    const int64_t classes = static_cast<int64_t>(f.size()) / x.dim(0);
    std::vector<double> m(static_cast<size_t>(classes), 0.0);
    for (size_t i = 0; i < f.size(); ++i) m[i % static_cast<size_t>(classes)] += (q[i] - f[i]) / static_cast<double>(x.dim(0));
    return m;
}

TEST(BiasCorrection, ZeroesTheMeanOutputErrorOnTheCalibrationImages) {
    // One Gemm on the flattened image at 2 bits: its rounding error has a large mean.
    const Graph g = testquant::flatten_gemm_graph(1, 6, 6);
    std::vector<float> v(64 * 36);
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f + 0.5f * std::sin(0.13f * static_cast<float>(i));
    const Tensor calib = Tensor::from_floats({64, 1, 6, 6}, v);
    GraphPtqOptions o;
    o.weight_bits = 2;
    const std::vector<double> plain = mean_error(g, quantize_graph_static(g, calib, o).graph, calib);
    o.bias_correction = true;
    const GraphPtqResult r = quantize_graph_static(g, calib, o);
    EXPECT_EQ(r.refined.bias_corrected, 1);
    const std::vector<double> corrected = mean_error(g, r.graph, calib);
    double worst_plain = 0, worst = 0;
    for (size_t c = 0; c < plain.size(); ++c) {
        worst_plain = std::max(worst_plain, std::fabs(plain[c]));
        worst = std::max(worst, std::fabs(corrected[c]));
    }
    // What is left: the logits' own uint8 rounding and the int32 bias rounding.
    EXPECT_GT(worst_plain, 0.01);
    EXPECT_LT(worst, 0.2 * worst_plain) << "before " << worst_plain << ", after " << worst;
}

// Layer by layer, on the rows it was fitted to, AdaRound reconstructs better than
// nearest rounding (the logits of this 32-image toy need not follow).
TEST(GraphPtqWeights, AdaroundLowersEachLayersReconstructionErrorAtInt4) {
    const Graph g = conv_chain();
    const Tensor calib = graph_weight_refine_images(32, 3);
    GraphPtqOptions o;
    o.weight_bits = 4;
    o.adaround_options.iterations = 200;
    o.adaround = true;
    const GraphPtqResult r = quantize_graph_static(g, calib, o);
    EXPECT_EQ(r.refined.adarounded, 5);
    EXPECT_LT(r.refined.rec_adaround, 0.9 * r.refined.rec_nearest);
}

}  // namespace
}  // namespace tern::quant
