// Bad nodes of the ops the PP-OCR models brought in (Cast, Slice, Resize,
// ConvTranspose, ReduceMean): each is one InputError naming the node and
// the problem, never a crash or a wrong answer.
#include <gtest/gtest.h>

#include "core/error.h"
#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "io/io_test_util.h"
#include "onnx_model_builder.h"

namespace tern::testgraph {
namespace {

// x (1, 2, 4, 4) -> one node "bad" -> y, run on zeros; returns the error text ("" when it ran).
std::string run_single_node(onnx::ModelProto m) {
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "x", {1, 2, 4, 4});
    add_value(g->mutable_output(), "y", {});
    g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
    try {
        std::string bytes;
        m.SerializeToString(&bytes);
        const graph::Graph gr = graph::import_onnx_bytes(bytes.data(), bytes.size(), "bad.onnx");
        (void)graph::Executor(gr).run({{"x", Tensor::zeros({1, 2, 4, 4})}});
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

void add_string_attr(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
}

void add_int64_initializer(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& v) {
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) t->add_int64_data(x);
}

#define EXPECT_NODE_ERROR(text, fragment)                                 \
    do {                                                                  \
        const std::string e_ = (text);                                    \
        EXPECT_NE(e_.find("node 'bad'"), std::string::npos) << e_;        \
        EXPECT_NE(e_.find(fragment), std::string::npos) << e_;            \
    } while (0)

TEST(OcrOpsErrors, CastWithoutTargetOrToAStringIsRefused) {
    onnx::ModelProto a = model_with_opset(13);
    add_node(a, "Cast", "bad", {"x"}, {"y"});
    EXPECT_NODE_ERROR(run_single_node(a), "needs the attribute 'to'");
    onnx::ModelProto b = model_with_opset(13);
    add_int_attr(add_node(b, "Cast", "bad", {"x"}, {"y"}), "to", onnx::TensorProto::STRING);
    EXPECT_NODE_ERROR(run_single_node(b), "Cast target type 8 is not one tern holds");
}

TEST(OcrOpsErrors, SliceWithAZeroStepOrRepeatedAxisIsRefused) {
    onnx::ModelProto a = model_with_opset(13);
    add_int64_initializer(a, "starts", {0});
    add_int64_initializer(a, "ends", {2});
    add_int64_initializer(a, "axes", {1});
    add_int64_initializer(a, "steps", {0});
    add_node(a, "Slice", "bad", {"x", "starts", "ends", "axes", "steps"}, {"y"});
    EXPECT_NODE_ERROR(run_single_node(a), "step 0 is not allowed");
    onnx::ModelProto b = model_with_opset(9);
    auto* n = add_node(b, "Slice", "bad", {"x"}, {"y"});
    add_ints_attr(n, "starts", {0, 0});
    add_ints_attr(n, "ends", {1, 1});
    add_ints_attr(n, "axes", {2, -2});
    EXPECT_NODE_ERROR(run_single_node(b), "axes repeat axis 2");
}

TEST(OcrOpsErrors, ResizeWithAnUnknownModeWrongScalesOrAHugeOutputIsRefused) {
    onnx::ModelProto a = model_with_opset(11);
    add_initializer(a, "roi", {0}, {});
    add_initializer(a, "scales", {4}, {1, 1, 2, 2});
    add_string_attr(add_node(a, "Resize", "bad", {"x", "roi", "scales"}, {"y"}), "mode", "bicubic");
    EXPECT_NODE_ERROR(run_single_node(a), "mode 'bicubic' is not one of nearest, linear, cubic");
    onnx::ModelProto b = model_with_opset(11);
    add_initializer(b, "roi", {0}, {});
    add_initializer(b, "scales", {3}, {1, 2, 2});
    add_node(b, "Resize", "bad", {"x", "roi", "scales"}, {"y"});
    EXPECT_NODE_ERROR(run_single_node(b), "scales has 3 values for an input of 4 dims");
    onnx::ModelProto c = model_with_opset(11);
    add_initializer(c, "roi", {0}, {});
    add_initializer(c, "scales", {4}, {1, 1, 1e9f, 1e9f});
    add_node(c, "Resize", "bad", {"x", "roi", "scales"}, {"y"});
    EXPECT_NODE_ERROR(run_single_node(c), "too large");
}

TEST(OcrOpsErrors, ConvTransposeWithMismatchedWeightOrAHugeOutputIsRefused) {
    onnx::ModelProto a = model_with_opset(11);
    add_initializer(a, "w", {3, 1, 2, 2}, std::vector<float>(12, 0.5f));
    add_node(a, "ConvTranspose", "bad", {"x", "w"}, {"y"});
    EXPECT_NODE_ERROR(run_single_node(a), "weight has 3 input channels, the input 2");
    onnx::ModelProto b = model_with_opset(11);
    add_initializer(b, "w", {2, 1, 2, 2}, std::vector<float>(8, 0.5f));
    add_ints_attr(add_node(b, "ConvTranspose", "bad", {"x", "w"}, {"y"}), "strides", {1 << 30, 1 << 30});
    EXPECT_NODE_ERROR(run_single_node(b), "is too large");
}

TEST(OcrOpsErrors, ReduceMeanWithARepeatedAxisIsRefused) {
    onnx::ModelProto a = model_with_opset(11);
    add_ints_attr(add_node(a, "ReduceMean", "bad", {"x"}, {"y"}), "axes", {1, -3});
    EXPECT_NODE_ERROR(run_single_node(a), "axes repeat axis 1");
}

}  // namespace
}  // namespace tern::testgraph
