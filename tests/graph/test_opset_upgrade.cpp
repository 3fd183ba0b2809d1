// graph/opset_upgrade: an opset-9 graph (Clip bounds, Slice ranges, Squeeze axes
// as attributes; Softmax flattening to 2-D) rewritten for opset 13 gives the same
// outputs on the executor as the original does under opset-9 rules.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "graph/executor.h"
#include "graph/opset_upgrade.h"

namespace tern {
namespace {

using graph::Graph;

// x (2, 3, 4) -> Clip[-0.5, 0.7] -> Slice(axis 2, 1..3) -> Softmax(axis 1: over dims 1.. of 3)
//                 -> Unsqueeze(0) -> Squeeze(0) -> y; the Softmax's input rank left unknown.
Graph opsetup_graph(int64_t softmax_axis) {
    Graph g;
    g.name = "opset9";
    g.opset = 9;
    g.inputs = {"x"};
    g.outputs = {"y"};
    g.values["x"] = {Shape{2, 3, 4}, DType::f32};
    graph::Attribute lo, hi;
    lo.kind = hi.kind = graph::Attribute::Kind::float_;
    lo.f = -0.5f, hi.f = 0.7f;
    g.nodes.push_back({"Clip", "clip", {"x"}, {"c"}, {{"min", lo}, {"max", hi}}});
    g.nodes.push_back({"Slice", "slice", {"c"}, {"s"},
                       {{"starts", graph::ints_attr({1})}, {"ends", graph::ints_attr({3})}, {"axes", graph::ints_attr({2})}}});
    g.nodes.push_back({"Softmax", "softmax", {"s"}, {"m"}, {{"axis", graph::int_attr(softmax_axis)}}});
    g.nodes.push_back({"Unsqueeze", "unsq", {"m"}, {"u"}, {{"axes", graph::ints_attr({0})}}});
    g.nodes.push_back({"Squeeze", "sq", {"u"}, {"y"}, {{"axes", graph::ints_attr({0})}}});
    return g;
}

TEST(OpsetUpgrade, Opset9GraphRunsTheSameAtOpset13) {
    std::vector<float> xv(24);
    for (size_t i = 0; i < xv.size(); ++i) xv[i] = 0.9f * std::sin(1.3f * static_cast<float>(i));
    const Tensor x = Tensor::from_floats({2, 3, 4}, xv);
    for (int64_t axis : {1, 2, -1}) {
        const Graph old = opsetup_graph(axis);
        const Graph up = graph::upgrade_opset(old, 13);
        EXPECT_EQ(up.opset, 13);
        for (const auto& n : up.nodes) EXPECT_TRUE(n.attributes.count("min") + n.attributes.count("starts") == 0) << n.name;
        const Tensor want = graph::Executor(old).run({{"x", x}}).at("y");
        const Tensor got = graph::Executor(up).run({{"x", x}}).at("y");
        ASSERT_EQ(got.shape(), (Shape{2, 3, 2})) << axis;
        ASSERT_EQ(want.shape(), got.shape());
        const std::vector<float> a = want.to_floats(), b = got.to_floats();
        for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i], b[i]) << "axis " << axis << " at " << i;
    }
}

TEST(OpsetUpgrade, OldResizeIsRefusedByName) {
    Graph g;
    g.opset = 10;
    g.inputs = {"x"};
    g.outputs = {"y"};
    g.nodes.push_back({"Resize", "up2", {"x", "scales"}, {"y"}, {}});
    try {
        (void)graph::upgrade_opset(g, 13);
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("up2"), std::string::npos) << e.what();
    }
    g.opset = 13;
    EXPECT_EQ(graph::upgrade_opset(g, 13).nodes.size(), 1u);  // already there: unchanged
}

}  // namespace
}  // namespace tern
