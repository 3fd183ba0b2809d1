// Graph PTQ of a Paddle-style export: opset 9, weights in Constant nodes, Clip's
// bounds as attributes, a Softmax of the 2-D-coercing kind. The QDQ model is
// opset 13, its layers run integer-only, and its outputs stay near the fp32 ones.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/executor.h"
#include "graph/qdq_fuse.h"
#include "quant/graph_ptq.h"

namespace tern {
namespace {

graph::Node opset9_ptq_constant(const std::string& name, const Tensor& t) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::tensor;
    a.t = t;
    return {"Constant", name + "_const", {}, {name}, {{"value", a}}};
}

Tensor opset9_ptq_wave(const Shape& s, float amp, float freq) {
    std::vector<float> v(static_cast<size_t>(shape_numel(s)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = amp * std::sin(freq * static_cast<float>(i) + 0.3f);
    return Tensor::from_floats(s, v);
}

// x (N, 3, 8, 8) -> Conv 3x3 (Constant weights) -> Clip[0, 6] (attributes) -> Flatten
//                -> Gemm (Constant weights) -> Softmax(axis 1) -> y (N, 5)
graph::Graph opset9_ptq_graph() {
    graph::Graph g;
    g.name = "paddle_like";
    g.opset = 9;
    g.inputs = {"x"};
    g.outputs = {"y"};
    g.values["x"] = {Shape{-1, 3, 8, 8}, DType::f32};
    graph::Attribute lo, hi, one;
    lo.kind = hi.kind = graph::Attribute::Kind::float_;
    lo.f = 0.f, hi.f = 6.f;
    one.i = 1;
    g.nodes.push_back(opset9_ptq_constant("w1", opset9_ptq_wave({4, 3, 3, 3}, 0.4f, 0.9f)));
    g.nodes.push_back(opset9_ptq_constant("b1", opset9_ptq_wave({4}, 0.1f, 1.7f)));
    g.nodes.push_back(opset9_ptq_constant("w2", opset9_ptq_wave({5, 4 * 6 * 6}, 0.08f, 0.37f)));
    g.nodes.push_back({"Conv", "conv", {"x", "w1", "b1"}, {"c"}, {{"kernel_shape", graph::ints_attr({3, 3})}}});
    g.nodes.push_back({"Clip", "relu6", {"c"}, {"r"}, {{"min", lo}, {"max", hi}}});
    g.nodes.push_back({"Flatten", "flat", {"r"}, {"f"}, {{"axis", one}}});
    g.nodes.push_back({"Gemm", "fc", {"f", "w2"}, {"z"}, {{"transB", one}}});
    g.nodes.push_back({"Softmax", "softmax", {"z"}, {"y"}, {}});
    return g;
}

TEST(GraphPtqOpset9, ConstantWeightsAndAttributeBoundsQuantizeToARunnableOpset13Model) {
    const graph::Graph fp32 = opset9_ptq_graph();
    const Tensor calib = opset9_ptq_wave({16, 3, 8, 8}, 1.5f, 0.113f);
    const quant::GraphPtqResult r = quant::quantize_graph_static(fp32, calib);
    EXPECT_EQ(r.quantized_ops, 2);
    EXPECT_EQ(r.graph.opset, 13);
    graph::QdqFuseStats st;
    const graph::Graph fused = graph::fuse_qdq(r.graph, &st);
    EXPECT_EQ(st.convs, 1);
    EXPECT_EQ(st.gemms, 1);
    const Tensor x = opset9_ptq_wave({4, 3, 8, 8}, 1.4f, 0.071f);
    const std::vector<float> want = graph::Executor(fp32).run({{"x", x}}).at("y").to_floats();
    const std::vector<float> got = graph::Executor(fused).run({{"x", x}}).at("y").to_floats();
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 0.03f) << i;  // probabilities, 8-bit grids
    float row = 0;
    for (size_t i = 0; i < 5; ++i) row += got[i];
    EXPECT_NEAR(row, 1.f, 1e-5f);  // the Softmax still normalises each row
}

}  // namespace
}  // namespace tern
