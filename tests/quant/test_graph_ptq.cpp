// quant/graph_ptq: static int8 QDQ quantization of tern's LeNet-300-100. The
// QDQ model runs integer-only in tern (qdq_fuse) within 1 pt of fp32 with
// every observer, matches ONNX Runtime on the same file within one output
// LSB, and bad calibration / models are refused with one InputError.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "core/cpu_features.h"
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
#include "quant/graph_ptq.h"
#include "quant/graph_ptq_test_util.h"
#include "ref/reference.h"

namespace tern::quant {
namespace {

using testinterop::accuracy;
using testinterop::predictions;

Tensor rows(const data::ImageDataset& ds, int64_t first, int64_t n) {
    return Tensor::from_floats({n, ds.channels(), ds.height(), ds.width()},
                               std::span<const float>(ds.image(first), static_cast<size_t>(n * ds.image_numel())));
}

Tensor run_logits(const graph::Graph& g, const Tensor& x) {
    return graph::Executor(g).run({{interop::kImageInput, x}}).at(interop::kLogitsOutput);
}

struct Fixture {
    data::ImageDataset test = data::load_fashion_mnist("t10k");
    graph::Graph fp32 = interop::load_classifier_graph(testinterop::model_path("fmnist-lenet300"));
    // Calibration on images the accuracy check does not use (rows 5000..5255).
    Tensor calib = rows(test, 5000, 256);
    Tensor eval = rows(test, 0, 300);
    std::vector<int32_t> labels{test.labels.begin(), test.labels.begin() + 300};
};

TEST(GraphPtq, LeNet300RunsIntegerOnlyWithinOnePointOfFp32WithEveryObserver) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    const Fixture f;
    const double fp32 = accuracy(predictions(run_logits(f.fp32, f.eval)), f.labels);
    for (ObserverKind k : {ObserverKind::minmax, ObserverKind::movingavg, ObserverKind::percentile, ObserverKind::mse,
                           ObserverKind::kl}) {
        GraphPtqOptions po;
        po.observer = k;
        const GraphPtqResult r = quantize_graph_static(f.fp32, f.calib, po);
        EXPECT_EQ(r.quantized_ops, 3);
        graph::QdqFuseStats stats;
        const graph::Graph fused = graph::fuse_qdq(r.graph, &stats);
        EXPECT_EQ(stats.gemms, 3) << observer_kind_name(k) << ": every Gemm integer-only";
        EXPECT_EQ(stats.data_movement, 1) << "the Flatten on the codes";
        for (const auto& n : fused.nodes) EXPECT_NE(n.op_type, "Gemm") << observer_kind_name(k);
        const double int8 = accuracy(predictions(run_logits(fused, f.eval)), f.labels);
        EXPECT_NEAR(int8, fp32, 0.01) << observer_kind_name(k) << ": fp32 " << fp32 << ", int8 " << int8;
    }
}

TEST(GraphPtq, LeNet300QdqExportMatchesOnnxRuntimeWithinOneLsb) {
    if (!testinterop::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    const Fixture f;
    testio::TempDir dir;
    for (bool is_unsigned : {true, false}) {
        GraphPtqOptions o;
        o.grid.is_unsigned = is_unsigned;
        const GraphPtqResult r = quantize_graph_static(f.fp32, f.calib, o);
        const std::string model = dir.file(is_unsigned ? "u8.onnx" : "s8.onnx");
        graph::export_onnx_file(r.graph, model);
        const Tensor x = rows(f.test, 0, 8);
        write_npy(dir.file("x.npy"), x);
        const Tensor tern = run_logits(graph::fuse_qdq(graph::import_onnx_file(model)), x);
        const float lsb = r.activations.back().params.scale;  // the logits' grid
        EXPECT_EQ(r.activations.back().tensor, interop::kLogitsOutput);
        // ORT as written (DequantizeLinear, float Gemm, QuantizeLinear: the model's exact meaning)
        // and ORT optimized (its integer kernels). On CPUs without VNNI, ORT's u8s8 kernels sum
        // byte pairs in saturating int16 (vpmaddubsw), so there its integer path can be several
        // LSB off the model's meaning: it is held to 1 LSB only where VNNI sums exactly.
        const bool ort_exact_int8 = cpu_features().avx512vnni || cpu_features().avx_vnni;
        for (bool optimize : {false, true}) {
            const Tensor ort = read_npy(testref::ort_run(model, {{interop::kImageInput, dir.file("x.npy")}},
                                                         dir.file(std::string(is_unsigned ? "ort_u8" : "ort_s8") + (optimize ? "_opt" : "")),
                                                         1, 0, optimize)
                                            .outputs.at(0)
                                            .file);
            ASSERT_EQ(tern.shape(), ort.shape());
            const std::vector<float> a = tern.to_floats(), b = ort.to_floats();
            float worst = 0;
            for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
            const std::string what = std::string(is_unsigned ? "uint8" : "int8") + " activations, ORT " +
                                     (optimize ? "optimized" : "as written") + ": " + std::to_string(worst / lsb) + " LSB";
            if (optimize && !ort_exact_int8) {
                std::cout << what << " (no VNNI: not held to 1 LSB)\n";
                continue;
            }
            EXPECT_LE(worst, lsb * 1.01f) << what;
            EXPECT_EQ(predictions(tern), predictions(ort)) << what;
        }
    }
}

TEST(GraphPtq, RefusesBadCalibrationAndModelsWithNothingToQuantize) {
    const graph::Graph g = testquant::flatten_gemm_graph(1, 28, 28);
    const Tensor good = Tensor::zeros({4, 1, 28, 28});
    EXPECT_EQ(quantize_graph_static(g, good).quantized_ops, 1);
    auto message = [](auto&& f) {
        try {
            f();
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no InputError");
    };
    EXPECT_NE(message([&] { quantize_graph_static(g, Tensor::zeros({0, 1, 28, 28})); }).find("empty"), std::string::npos);
    EXPECT_NE(message([&] { quantize_graph_static(g, Tensor::zeros({4, 3, 32, 32})); }).find("takes"), std::string::npos);
    EXPECT_NE(message([&] { quantize_graph_static(testquant::flatten_gemm_graph(1, 28, 28, true), good); }).find("NaN"),
              std::string::npos);
    EXPECT_NE(message([&] { quantize_graph_static(testquant::relu_only_graph(), good); }).find("nothing to quantize"),
              std::string::npos);
}

}  // namespace
}  // namespace tern::quant
