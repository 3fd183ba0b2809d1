// If subgraphs (graph/ops_control.cpp, the importer's implicit inputs, the
// ONNX writer), the comparison and logic ops, ConstantOfShape and Size, and
// the Silero VAD models that need them, against ONNX Runtime.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "graph/executor.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "onnx_model_builder.h"
#include "ort_reference.h"

namespace tern::testgraph {
namespace {

onnx::GraphProto* add_graph_attr(onnx::NodeProto* n, const std::string& name) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    a->mutable_g()->set_name(name);
    return a->mutable_g();
}

onnx::NodeProto* add_sub_node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& in,
                              const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(g->name() + "_" + op + "_" + out);
    for (const auto& s : in) n->add_input(s);
    n->add_output(out);
    return n;
}

// y = k == 0 ? (flip ? x * two : x * two + x) : -x. The then-branch holds a
// nested If that reads `x` and `two` from the outermost graph and `flip`
// (Not(c), false wherever the then-branch runs) from its own enclosing branch.
onnx::ModelProto if_model() {
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "x", {2, 3});
    add_value(g->mutable_input(), "k", {1}, onnx::TensorProto::INT64);
    add_value(g->mutable_output(), "y", {2, 3});
    add_initializer(m, "two", {1}, {2.f});
    auto* zero = g->add_initializer();
    zero->set_name("zero");
    zero->set_data_type(onnx::TensorProto::INT64);
    zero->add_dims(1);
    zero->add_int64_data(0);
    add_node(m, "Equal", "is_zero", {"k", "zero"}, {"eq"});
    add_node(m, "Squeeze", "cond", {"eq"}, {"c"});
    auto* node = add_node(m, "If", "branch", {"c"}, {"y"});

    auto* then_g = add_graph_attr(node, "then_branch");
    add_value(then_g->mutable_output(), "t_out", {2, 3});
    add_sub_node(then_g, "Not", {"c"}, "flip");
    auto* inner = add_sub_node(then_g, "If", {"flip"}, "t_out");
    auto* inner_then = add_graph_attr(inner, "then_branch");
    add_value(inner_then->mutable_output(), "it_out", {2, 3});
    add_sub_node(inner_then, "Mul", {"x", "two"}, "it_out");
    auto* inner_else = add_graph_attr(inner, "else_branch");
    add_value(inner_else->mutable_output(), "ie_out", {2, 3});
    add_sub_node(inner_else, "Mul", {"x", "two"}, "ie_tmp");
    add_sub_node(inner_else, "Add", {"ie_tmp", "x"}, "ie_out");

    auto* else_g = add_graph_attr(node, "else_branch");
    add_value(else_g->mutable_output(), "e_out", {2, 3});
    add_sub_node(else_g, "Neg", {"x"}, "e_out");
    return m;
}

Tensor x_value() {
    Tensor x = Tensor::empty({2, 3});
    for (int i = 0; i < 6; ++i) x.data<float>()[i] = static_cast<float>(i) - 2.5f;
    return x;
}

Tensor k_value(int64_t k) {
    Tensor t = Tensor::empty({1}, DType::i64);
    t.data<int64_t>()[0] = k;
    return t;
}

std::vector<float> run_if_model(const graph::Graph& g, int64_t k) {
    const auto out = graph::Executor(g).run({{"x", x_value()}, {"k", k_value(k)}});
    const Tensor& y = out.at("y");
    return {y.data<float>(), y.data<float>() + y.numel()};
}

TEST(GraphIf, RunsTheBranchTheConditionPicksWithOuterValues) {
    testio::TempDir dir;
    const graph::Graph g = graph::import_onnx_file(save_model(if_model(), dir.file("if.onnx")));
    const std::vector<float> then_y = run_if_model(g, 0), else_y = run_if_model(g, 7);
    for (int i = 0; i < 6; ++i) {
        const float x = static_cast<float>(i) - 2.5f;
        EXPECT_FLOAT_EQ(then_y[static_cast<size_t>(i)], 3 * x);
        EXPECT_FLOAT_EQ(else_y[static_cast<size_t>(i)], -x);
    }
    // Its branches read c, x and two from the graph: they follow the condition as implicit inputs.
    const auto& node = g.nodes.back();
    ASSERT_EQ(node.op_type, "If");
    EXPECT_EQ(node.inputs, (std::vector<std::string>{"c", "c", "two", "x"}));
    EXPECT_EQ(node.implicit_inputs, 3u);
}

TEST(GraphIf, ExportedModelRunsInTernAndOnnxRuntime) {
    testio::TempDir dir;
    const graph::Graph g = graph::import_onnx_file(save_model(if_model(), dir.file("if.onnx")));
    const std::string exported = dir.file("exported.onnx");
    graph::export_onnx_file(g, exported);
    const graph::Graph back = graph::import_onnx_file(exported);
    EXPECT_EQ(run_if_model(back, 0), run_if_model(g, 0));
    EXPECT_EQ(run_if_model(back, 3), run_if_model(g, 3));

    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    for (int64_t k : {0, 3}) {
        write_npy(dir.file("x.npy"), x_value());
        write_npy(dir.file("k.npy"), k_value(k));
        const auto r = testref::ort_run(exported, {{"x", dir.file("x.npy")}, {"k", dir.file("k.npy")}}, dir.path());
        ASSERT_EQ(r.outputs.size(), 1u);
        const Tensor y = read_npy(r.outputs[0].file);
        EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + y.numel()), run_if_model(g, k)) << "k = " << k;
    }
}

TEST(GraphIf, BadConditionsAndBranchesGetOneError) {
    testio::TempDir dir;
    // A branch reading a value no enclosing graph defines.
    onnx::ModelProto m = if_model();
    auto* else_g = m.mutable_graph()->mutable_node(2)->mutable_attribute(1)->mutable_g();
    else_g->mutable_node(0)->set_input(0, "nowhere");
    try {
        graph::import_onnx_file(save_model(m, dir.file("bad.onnx")));
        FAIL() << "imported";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
    }
    // A condition of two values: k may hold any count, Equal keeps it.
    onnx::ModelProto two = if_model();
    two.mutable_graph()->mutable_input(1)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("n");
    const graph::Graph g = graph::import_onnx_file(save_model(two, dir.file("two.onnx")));
    Tensor k2 = Tensor::zeros({2}, DType::i64);
    try {
        graph::Executor(g).run({{"x", x_value()}, {"k", k2}});
        FAIL() << "ran";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("cond holds 2 values"), std::string::npos) << e.what();
    }
}

TEST(GraphIf, DeeplyNestedSubgraphsAreRefused) {
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "c", {}, onnx::TensorProto::BOOL);
    add_value(g->mutable_output(), "y", {});
    onnx::NodeProto* n = add_node(m, "If", "if0", {"c"}, {"y"});
    for (int depth = 1; depth <= 12; ++depth) {
        add_graph_attr(n, "else_branch")->add_output()->set_name("y");
        onnx::GraphProto* then_g = add_graph_attr(n, "then_branch");
        then_g->add_output()->set_name("y");
        n = add_sub_node(then_g, "If", {"c"}, "y");
    }
    testio::TempDir dir;
    try {
        graph::import_onnx_file(save_model(m, dir.file("deep.onnx")));
        FAIL() << "imported";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("nest over 8 deep"), std::string::npos) << e.what();
    }
}

// Comparisons broadcast and give booleans; ConstantOfShape fills; Size counts.
TEST(GraphLogicOps, CompareNotConstantOfShapeAndSize) {
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "a", {2, 3});
    add_value(g->mutable_output(), "gt", {2, 3}, onnx::TensorProto::BOOL);
    add_value(g->mutable_output(), "ngt", {2, 3}, onnx::TensorProto::BOOL);
    add_value(g->mutable_output(), "filled", {-1, -1});
    add_value(g->mutable_output(), "count", {}, onnx::TensorProto::INT64);
    add_initializer(m, "half", {1}, {0.5f});
    add_node(m, "Greater", "gt", {"a", "half"}, {"gt"});
    add_node(m, "Not", "not", {"gt"}, {"ngt"});
    add_node(m, "Shape", "shape", {"a"}, {"s"});
    auto* cos = add_node(m, "ConstantOfShape", "cos", {"s"}, {"filled"});
    auto* value = cos->add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto::TENSOR);
    value->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    value->mutable_t()->add_dims(1);
    value->mutable_t()->add_float_data(1.25f);
    add_node(m, "Size", "size", {"a"}, {"count"});
    testio::TempDir dir;
    const graph::Graph gr = graph::import_onnx_file(save_model(m, dir.file("logic.onnx")));
    const auto out = graph::Executor(gr).run({{"a", x_value()}});
    for (int i = 0; i < 6; ++i) {
        const bool gt = static_cast<float>(i) - 2.5f > 0.5f;
        EXPECT_EQ(out.at("gt").data<uint8_t>()[i], gt ? 1 : 0) << i;
        EXPECT_EQ(out.at("ngt").data<uint8_t>()[i], gt ? 0 : 1) << i;
        EXPECT_EQ(out.at("filled").data<float>()[i], 1.25f);
    }
    EXPECT_EQ(out.at("filled").shape(), (Shape{2, 3}));
    EXPECT_EQ(out.at("count").data<int64_t>()[0], 6);
}

// Silero VAD (both versions) on a 512-sample window of a noisy tone, tern against ONNX Runtime.
struct VadCase {
    const char* file;
    bool legacy;
};

void compare_vad_with_ort(const VadCase& c) {
    const std::string model = testref::vad_models_dir() + "/" + c.file;
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    TERN_REQUIRE_REFERENCE(testref::file_reference(model, "npm vad-web: run scripts/setup.sh"));
    testio::TempDir dir;
    const int64_t samples = 512;
    Tensor audio = Tensor::empty({1, samples});
    for (int64_t i = 0; i < samples; ++i) {
        const double t = static_cast<double>(i) / 16000.0;
        audio.data<float>()[i] = static_cast<float>(0.4 * std::sin(2 * M_PI * 220 * t) + 0.05 * std::sin(12345.6 * t * t));
    }
    Tensor sr = Tensor::empty({}, DType::i64);
    sr.data<int64_t>()[0] = 16000;
    std::map<std::string, Tensor> inputs = {{"input", audio}, {"sr", sr}};
    if (c.legacy) {
        inputs["h"] = Tensor::zeros({2, 1, 64});
        inputs["c"] = Tensor::zeros({2, 1, 64});
    } else {
        inputs["state"] = Tensor::zeros({2, 1, 128});
    }
    std::map<std::string, std::string> files;
    for (const auto& [name, t] : inputs) {
        files[name] = dir.file(name + ".npy");
        write_npy(files[name], t);
    }
    const graph::Graph g = graph::import_onnx_file(model);
    const auto ours = graph::Executor(g).run(inputs);
    const auto r = testref::ort_run(model, files, dir.path());
    ASSERT_EQ(r.outputs.size(), g.outputs.size());
    for (const auto& o : r.outputs) {
        const Tensor want = read_npy(o.file);
        const Tensor& got = ours.at(o.name);
        ASSERT_EQ(got.shape(), want.shape()) << o.name;
        double max_abs = 0;
        for (int64_t i = 0; i < want.numel(); ++i)
            max_abs = std::max(max_abs, static_cast<double>(std::fabs(got.data<float>()[i] - want.data<float>()[i])));
        std::cout << c.file << " output " << o.name << ": max abs difference " << max_abs << "\n";
        EXPECT_LE(max_abs, 1e-5) << o.name;
    }
}

TEST(SileroVadVsOrt, LegacyModelMatchesOnnxRuntime) { compare_vad_with_ort({"silero_vad_legacy.onnx", true}); }
TEST(SileroVadVsOrt, V5ModelMatchesOnnxRuntime) { compare_vad_with_ort({"silero_vad_v5.onnx", false}); }

}  // namespace
}  // namespace tern::testgraph
