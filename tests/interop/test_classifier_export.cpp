// interop/classifier_graph: tern's committed Fashion-MNIST models as graphs.
// (a) the graph (after ONNX export and import) computes what the nn model's
// forward() computes, within 1e-5; (b) ONNX Runtime, an independent runtime,
// runs the exported file on 200 real test images with the same predictions
// (all three models on the full 10,000 are in long_classifier_export.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "export_test_util.h"
#include "graph/executor.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/ort_reference.h"
#include "interop/classifier_graph.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "nn/autograd.h"
#include "nn/train/model_file.h"
#include "ref/reference.h"

namespace tern::testinterop {
namespace {

// Real images when the dataset is installed, else a fixed pseudo-random batch:
// the nn-vs-graph check needs no dataset.
Tensor sample_images(int64_t n) {
    if (have_fashion_mnist()) return fashion_test_images(n).images;
    std::vector<float> v(static_cast<size_t>(n * 28 * 28));
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37f * static_cast<float>(i)) * 1.5f;
    return Tensor::from_floats({n, 1, 28, 28}, v);
}

graph::Graph exported_and_reimported(const graph::Graph& g) {
    const std::string bytes = graph::export_onnx_bytes(g);
    return graph::import_onnx_bytes(bytes.data(), bytes.size(), "exported " + g.name);
}

TEST(ClassifierExport, GraphComputesTheNnForwardOfEachCommittedModel) {
    const Tensor x = sample_images(16);
    for (const char* name : kCommittedModels) {
        const auto f = nn::train::load_classifier(model_path(name));
        const Tensor want = f.model->forward(nn::Var(x)).value();
        const graph::Graph g = exported_and_reimported(interop::classifier_graph(*f.model, f.model_name, 1, 28, 28));
        // Every weight and buffer of the checkpoint is an initializer under its checkpoint name.
        auto expect_initializer = [&](const std::string& key, const Tensor& t) {
            auto it = g.initializers.find(key);
            ASSERT_NE(it, g.initializers.end()) << name << ": " << key;
            EXPECT_EQ(it->second.to_floats(), t.to_floats()) << name << ": " << key;
        };
        for (const auto& [key, v] : f.model->named_parameters()) expect_initializer(key, v.value());
        for (const auto& [key, t] : f.model->named_buffers()) expect_initializer(key, t);
        const Tensor got = graph::Executor(g).run({{interop::kImageInput, x}}).at(interop::kLogitsOutput);
        ASSERT_EQ(got.shape(), want.shape()) << name;
        EXPECT_LE(max_scaled_diff(got, want), 1e-5) << name;
        EXPECT_EQ(predictions(got), predictions(want)) << name;
    }
}

TEST(ClassifierExport, OnnxRuntimeAgreesOn200TestImages) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    if (!have_fashion_mnist()) TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const data::ImageDataset ds = fashion_test_images(200);
    write_npy(dir.file("images.npy"), ds.images);
    // LeNet-300's ops (Flatten, Gemm, Relu) are a subset of LeNet-5's; all three run in the long test.
    for (const char* name : {"fmnist-lenet5", "fmnist-mobilenetv2_tiny"}) {
        const std::string onnx = dir.file(std::string(name) + ".onnx");
        const graph::Graph g = interop::export_classifier_onnx(model_path(name), onnx);
        const Tensor tern_logits = graph::Executor(g).run({{interop::kImageInput, ds.images}}).at(interop::kLogitsOutput);
        const auto ort = testref::ort_run(onnx, {{interop::kImageInput, dir.file("images.npy")}}, dir.file(name));
        ASSERT_EQ(ort.outputs.size(), 1u) << name;
        EXPECT_EQ(ort.outputs[0].name, interop::kLogitsOutput);
        const Tensor ort_logits = read_npy(ort.outputs[0].file);
        ASSERT_EQ(ort_logits.shape(), tern_logits.shape()) << name;
        EXPECT_LE(max_scaled_diff(tern_logits, ort_logits), 1e-4) << name;
        EXPECT_EQ(predictions(tern_logits), predictions(ort_logits)) << name;
        EXPECT_GT(accuracy(predictions(ort_logits), ds.labels), 0.8) << name;
    }
}

// A module with no emitter is refused by name, not silently skipped.
struct Doubler : nn::UnaryModule {
    nn::Var forward(const nn::Var& x) override { return x; }
};

TEST(ClassifierExport, ModuleWithoutAGraphFormIsRefused) {
    Doubler m;
    try {
        interop::classifier_graph(m, "doubler", 1, 28, 28);
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("no graph form"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace tern::testinterop
