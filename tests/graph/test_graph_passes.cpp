// graph/passes.h: each pass on a small model, the optimized graph against the
// original on the reference executor, and against ONNX Runtime.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "graph/passes.h"
#include "graph/prepared_executor.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "mobilenet_builder.h"
#include "ort_reference.h"

namespace tern::testgraph {
namespace {

graph::Graph graph_passes_import(const onnx::ModelProto& m) {
    const std::string bytes = m.SerializeAsString();
    return graph::import_onnx_bytes(bytes.data(), bytes.size(), "test.onnx");
}

Tensor graph_passes_test_input(const Shape& shape) {
    Tensor t = Tensor::empty(shape, DType::f32);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 2.f * std::sin(0.7f * static_cast<float>(i));
    return t;
}

Tensor run_ref(const graph::Graph& g, const Tensor& x) { return graph::Executor(g).run({{"x", x}}).at("y"); }

int count_op(const graph::Graph& g, const std::string& op) {
    int n = 0;
    for (const auto& node : g.nodes) n += node.op_type == op;
    return n;
}

void graph_passes_expect_close(const Tensor& got, const Tensor& want, float rel) {
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < got.numel(); ++i) {
        const float w = want.data<float>()[i];
        EXPECT_NEAR(got.data<float>()[i], w, rel * (1.f + std::fabs(w))) << "element " << i;
    }
}

bool graph_passes_bitwise_equal(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && std::memcmp(a.data<float>(), b.data<float>(), a.nbytes()) == 0;
}

// x (1, 4, 6, 6) -> Conv 3x3 -> [act] -> y
onnx::ModelProto conv_then(const std::string& act) {
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "x", {1, 4, 6, 6});
    add_value(g->mutable_output(), "y", {1, 5, 6, 6});
    add_initializer(m, "w", {5, 4, 3, 3}, wave(5 * 4 * 9, 0.4f, 0.2f));
    add_initializer(m, "b", {5}, wave(5, 0.5f, 0.1f));
    auto* conv = add_node(m, "Conv", "conv", {"x", "w", "b"}, {"c"});
    add_ints_attr(conv, "pads", {1, 1, 1, 1});
    if (act == "Clip") {
        add_initializer(m, "lo", {}, {0.f});
        add_initializer(m, "hi", {}, {6.f});
        add_node(m, "Clip", "act", {"c", "lo", "hi"}, {"y"});
    } else if (act == "HardSwishPattern") {
        auto* hs = add_node(m, "HardSigmoid", "hs", {"c"}, {"h"});
        add_float_attr(hs, "alpha", 1.f / 6.f);
        add_node(m, "Mul", "mul", {"h", "c"}, {"y"});
    } else if (act == "PaddleHardSwish" || act == "PaddleHardSwishSwapped") {
        // x * Clip(x + 3, 0, 6) / 6 as Paddle exports it; "Swapped": 3 + x and Clip(..) * x.
        const bool swapped = act == "PaddleHardSwishSwapped";
        add_initializer(m, "three", {}, {3.f});
        add_initializer(m, "lo", {}, {0.f});
        add_initializer(m, "hi", {}, {6.f});
        add_initializer(m, "six", {}, {6.f});
        add_node(m, "Add", "add", swapped ? std::vector<std::string>{"three", "c"} : std::vector<std::string>{"c", "three"}, {"s"});
        add_node(m, "Clip", "clip", {"s", "lo", "hi"}, {"h"});
        add_node(m, "Mul", "mul", swapped ? std::vector<std::string>{"h", "c"} : std::vector<std::string>{"c", "h"}, {"p"});
        add_node(m, "Div", "div", {"p", "six"}, {"y"});
    } else {
        auto* a = add_node(m, act, "act", {"c"}, {"y"});
        if (act == "LeakyRelu") add_float_attr(a, "alpha", 0.1f);
    }
    return m;
}

TEST(GraphPasses, ConvActivationFusesIntoOneNodeWithTheSameBits) {
    for (const char* act : {"Relu", "Clip", "HardSigmoid", "LeakyRelu", "HardSwishPattern", "PaddleHardSwish", "PaddleHardSwishSwapped"}) {
        SCOPED_TRACE(act);
        const graph::Graph g = graph_passes_import(conv_then(act));
        const graph::Graph f = graph::fuse_conv_activation(g);
        ASSERT_EQ(f.nodes.size(), 1u);
        EXPECT_EQ(f.nodes[0].op_type, "FusedConv");
        const Tensor x = graph_passes_test_input({1, 4, 6, 6});
        EXPECT_TRUE(graph_passes_bitwise_equal(run_ref(f, x), run_ref(g, x)));
        graph::PreparedExecutor exec(f, {{"x", {1, 4, 6, 6}}});  // the planned run: the same bits too
        EXPECT_TRUE(graph_passes_bitwise_equal(exec.run({{"x", x}}).at("y"), run_ref(g, x)));
    }
}

TEST(GraphPasses, ConvOutputReadTwiceIsNotFused) {
    onnx::ModelProto m = conv_then("Relu");
    add_value(m.mutable_graph()->mutable_output(), "c", {1, 5, 6, 6});  // the conv output is also a graph output
    const graph::Graph f = graph::fuse_conv_activation(graph_passes_import(m));
    EXPECT_EQ(count_op(f, "FusedConv"), 0);
    EXPECT_EQ(count_op(f, "Relu"), 1);
}

TEST(GraphPasses, BatchNormFoldsIntoConvAndConstantsFold) {
    const graph::Graph g = graph_passes_import(mobilenet_style(2));
    const graph::Graph folded = graph::fold_batch_norm(g);
    EXPECT_EQ(count_op(folded, "BatchNormalization"), 0);
    EXPECT_EQ(count_op(g, "BatchNormalization"), count_op(g, "Conv"));
    const graph::Graph consts = graph::fold_constants(g);
    EXPECT_EQ(count_op(consts, "Mul"), count_op(g, "Mul") - 1);  // fc_bias = fc_half * two
    EXPECT_TRUE(consts.initializers.count("fc_b"));
    const Tensor x = graph_passes_test_input({1, 3, 32, 32});
    graph_passes_expect_close(run_ref(folded, x), run_ref(g, x), 1e-5f);
    EXPECT_TRUE(graph_passes_bitwise_equal(run_ref(consts, x), run_ref(g, x)));
}

TEST(GraphPasses, IdentityAndDeadNodesGo) {
    onnx::ModelProto m = conv_then("Relu");
    add_node(m, "Identity", "dead_ident", {"c"}, {"unused"});  // read by nothing
    add_node(m, "Identity", "ident_in", {"x"}, {"xd"});
    m.mutable_graph()->mutable_node(0)->set_input(0, "xd");
    add_initializer(m, "orphan", {2}, {1.f, 2.f});
    graph::Graph g = graph_passes_import(m);
    g = graph::eliminate_dead_nodes(graph::remove_identities(g));
    EXPECT_EQ(count_op(g, "Identity"), 0);
    EXPECT_FALSE(g.initializers.count("orphan"));
    EXPECT_EQ(g.nodes.size(), 2u);  // Conv, Relu
    const Tensor x = graph_passes_test_input({1, 4, 6, 6});
    EXPECT_TRUE(graph_passes_bitwise_equal(run_ref(g, x), run_ref(graph_passes_import(conv_then("Relu")), x)));
}

TEST(GraphPasses, OptimizedMobileNetMatchesOriginal) {
    const graph::Graph g = graph_passes_import(mobilenet_style(3));
    const graph::Graph o = graph::optimize(g);
    EXPECT_EQ(count_op(o, "BatchNormalization"), 0);
    EXPECT_EQ(count_op(o, "Clip") + count_op(o, "HardSigmoid") + count_op(o, "Identity"), 0);
    EXPECT_EQ(count_op(o, "Conv") + count_op(o, "FusedConv"), count_op(g, "Conv"));
    EXPECT_EQ(count_op(o, "Conv"), 3);  // the projections (no activation)
    const Tensor x = graph_passes_test_input({1, 3, 32, 32});
    graph_passes_expect_close(run_ref(o, x), run_ref(g, x), 1e-5f);
}

TEST(GraphPasses, OptimizedMobileNetMatchesOnnxRuntime) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    testio::TempDir dir;
    const std::string model = save_model(mobilenet_style(3), dir.file("mnet.onnx"));
    const Tensor x = graph_passes_test_input({1, 3, 32, 32});
    write_npy(dir.file("x.npy"), x);
    const auto ort = testref::ort_run(model, {{"x", dir.file("x.npy")}}, dir.file("ort"));
    ASSERT_EQ(ort.outputs.size(), 1u);
    graph_passes_expect_close(run_ref(graph::optimize(graph::import_onnx_file(model)), x), read_npy(ort.outputs[0].file), 1e-4f);
}

}  // namespace
}  // namespace tern::testgraph
