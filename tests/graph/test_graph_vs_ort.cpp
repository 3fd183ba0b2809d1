// tern's graph executor against ONNX Runtime (tests/graph/ort_reference.h) on
// models written at test time.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "onnx_model_builder.h"
#include "ort_reference.h"

namespace tern::testgraph {
namespace {

TEST(GraphVsOrt, SmallCnnMatchesOnnxRuntime) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    testio::TempDir dir;
    const std::string model = save_model(small_cnn(), dir.file("cnn.onnx"));
    std::vector<float> x(2 * 2 * 16);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i)) * 2.f;
    const Tensor input = Tensor::from_floats({2, 2, 4, 4}, x);
    write_npy(dir.file("x.npy"), input);

    const auto ort = testref::ort_run(model, {{"x", dir.file("x.npy")}}, dir.file("ort"));
    ASSERT_EQ(ort.outputs.size(), 1u);
    const Tensor expected = read_npy(ort.outputs[0].file);

    const graph::Graph g = graph::import_onnx_file(model);
    const auto got = graph::Executor(g).run({{"x", input}});
    const Tensor& y = got.at("y");
    ASSERT_EQ(y.shape(), expected.shape());
    for (int64_t i = 0; i < y.numel(); ++i)
        EXPECT_NEAR(y.data<float>()[i], expected.data<float>()[i], 1e-5f * (1.f + std::fabs(expected.data<float>()[i])))
            << "element " << i;
}

}  // namespace
}  // namespace tern::testgraph
