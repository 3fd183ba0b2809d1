// The exported Fashion-MNIST models on the full 10,000-image test split:
// ONNX Runtime's accuracy equals tern's (nn forward and graph executor), and
// every prediction agrees. Prints the three accuracies per model.
#include <gtest/gtest.h>

#include <cstdio>

#include "export_test_util.h"
#include "graph/executor.h"
#include "graph/ort_reference.h"
#include "interop/classifier_graph.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"
#include "ref/reference.h"

namespace tern::testinterop {
namespace {

TEST(ClassifierExportLong, OnnxRuntimeAccuracyEqualsTernsOnTheFullTestSplit) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    if (!have_fashion_mnist()) TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const data::ImageDataset ds = fashion_test_images(0);
    ASSERT_EQ(ds.size(), 10000);
    write_npy(dir.file("images.npy"), ds.images);
    for (const char* name : kCommittedModels) {
        const std::string onnx = dir.file(std::string(name) + ".onnx");
        const graph::Graph g = interop::export_classifier_onnx(model_path(name), onnx);
        const auto f = nn::train::load_classifier(model_path(name));
        const double nn_acc = nn::train::evaluate(*f.model, ds).accuracy;
        std::vector<int> graph_pred;
        const graph::Executor exec(g);
        for (int64_t start = 0; start < ds.size(); start += 500) {  // batches keep activation memory small
            std::vector<int64_t> rows;
            for (int64_t i = start; i < std::min<int64_t>(ds.size(), start + 500); ++i) rows.push_back(i);
            const auto part = predictions(exec.run({{interop::kImageInput, data::subset(ds, rows).images}}).at(interop::kLogitsOutput));
            graph_pred.insert(graph_pred.end(), part.begin(), part.end());
        }
        const auto ort = testref::ort_run(onnx, {{interop::kImageInput, dir.file("images.npy")}}, dir.file(name));
        ASSERT_EQ(ort.outputs.size(), 1u) << name;
        const auto ort_pred = predictions(read_npy(ort.outputs[0].file));
        const double graph_acc = accuracy(graph_pred, ds.labels), ort_acc = accuracy(ort_pred, ds.labels);
        std::printf("%-26s tern nn %.4f  tern graph %.4f  ONNX Runtime %.4f\n", name, nn_acc, graph_acc, ort_acc);
        EXPECT_EQ(ort_pred, graph_pred) << name;
        EXPECT_EQ(ort_acc, graph_acc) << name;
        EXPECT_NEAR(graph_acc, nn_acc, 1e-9) << name;
    }
}

}  // namespace
}  // namespace tern::testinterop
