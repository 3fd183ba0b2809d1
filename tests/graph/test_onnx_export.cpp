// graph/onnx_export: any Graph written as ONNX and read back runs the same.
// The truth is the importer plus executor already checked against ONNX's
// conformance data and ONNX Runtime: import(export(import(m))) must give the
// outputs import(m) gives, on the test-time CNN and on every conformance case
// tern passes. Also: what export refuses, and that a failed write leaves nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "conformance_runner.h"
#include "core/error.h"
#include "graph/executor.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "io/io_test_util.h"
#include "onnx_model_builder.h"
#include "ref/reference.h"

namespace tern::testgraph {
namespace {

namespace fs = std::filesystem;

graph::Graph onnx_export_round_trip(const graph::Graph& g) {
    const std::string bytes = graph::export_onnx_bytes(g);
    return graph::import_onnx_bytes(bytes.data(), bytes.size(), "exported " + g.name);
}

bool same_bytes(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const Tensor ca = a.contiguous(), cb = b.contiguous();
    return ca.nbytes() == cb.nbytes() && (ca.nbytes() == 0 || std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0);
}

graph::Graph small_cnn_graph() {
    std::string bytes;
    small_cnn().SerializeToString(&bytes);
    return graph::import_onnx_bytes(bytes.data(), bytes.size(), "small_cnn");
}

TEST(OnnxExport, SmallCnnRoundTripKeepsStructureAndRunsBitIdentically) {
    const graph::Graph g = small_cnn_graph();
    const graph::Graph back = onnx_export_round_trip(g);
    EXPECT_EQ(back.opset, g.opset);
    EXPECT_EQ(back.inputs, g.inputs);
    EXPECT_EQ(back.outputs, g.outputs);
    ASSERT_EQ(back.nodes.size(), g.nodes.size());
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        EXPECT_EQ(back.nodes[i].op_type, g.nodes[i].op_type);
        EXPECT_EQ(back.nodes[i].name, g.nodes[i].name);
        EXPECT_EQ(back.nodes[i].inputs, g.nodes[i].inputs);
        EXPECT_EQ(back.nodes[i].attr_ints("pads"), g.nodes[i].attr_ints("pads"));
    }
    ASSERT_EQ(back.initializers.size(), g.initializers.size());
    for (const auto& [name, t] : g.initializers) EXPECT_TRUE(same_bytes(back.initializers.at(name), t)) << name;
    // The batch dim stays unknown (-1), not pinned to a number.
    EXPECT_EQ(back.values.at("x").shape, (Shape{-1, 2, 4, 4}));

    std::vector<float> xv(3 * 2 * 16);
    for (size_t i = 0; i < xv.size(); ++i) xv[i] = std::cos(0.7f * static_cast<float>(i));
    const Tensor x = Tensor::from_floats({3, 2, 4, 4}, xv);
    const auto want = graph::Executor(g).run({{"x", x}});
    const auto got = graph::Executor(back).run({{"x", x}});
    EXPECT_TRUE(same_bytes(got.at("y"), want.at("y")));
}

TEST(OnnxExport, EveryAttributeKindAndDtypeSurvivesTheRoundTrip) {
    graph::Graph g;
    g.name = "kinds";
    g.opset = 13;
    g.inputs = {"x"};
    g.outputs = {"y"};
    g.values["x"] = {Shape{2, -1}, DType::f32};
    g.values["y"] = {Shape{2, -1}, DType::f32};
    graph::Node n;
    n.op_type = "Identity";
    n.name = "id";
    n.inputs = {"x"};
    n.outputs = {"y"};
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::int_, a.i = -7;
    n.attributes["i"] = a;
    a = {}, a.kind = graph::Attribute::Kind::float_, a.f = 0.125f;
    n.attributes["f"] = a;
    a = {}, a.kind = graph::Attribute::Kind::string, a.s = std::string("a\0b", 3);
    n.attributes["s"] = a;
    a = {}, a.kind = graph::Attribute::Kind::ints, a.ints = {1, -2, int64_t{1} << 40};
    n.attributes["is"] = a;
    a = {}, a.kind = graph::Attribute::Kind::floats, a.floats = {1.5f, -0.f};
    n.attributes["fs"] = a;
    a = {}, a.kind = graph::Attribute::Kind::tensor, a.t = Tensor::zeros({2, 3}, DType::i64);
    a.t.data<int64_t>()[4] = -9;
    n.attributes["t"] = a;
    a = {}, a.kind = graph::Attribute::Kind::strings, a.strings = {"Sigmoid", "", "Tanh"};
    n.attributes["ss"] = a;
    g.nodes.push_back(n);
    for (DType d : {DType::f32, DType::f16, DType::bf16, DType::f64, DType::i8, DType::u8, DType::i16, DType::i32,
                    DType::i64, DType::boolean}) {
        Tensor t = Tensor::zeros({3}, d);
        t.raw_data()[0] = 1;
        g.initializers[std::string("init_") + std::string(dtype_name(d))] = t;
    }
    g.initializers["empty"] = Tensor::zeros({0, 4});

    const graph::Graph back = onnx_export_round_trip(g);
    ASSERT_EQ(back.nodes.size(), 1u);
    const graph::Node& m = back.nodes[0];
    EXPECT_EQ(m.attr_int("i", 0), -7);
    EXPECT_EQ(m.attr_float("f", 0), 0.125f);
    EXPECT_EQ(m.attr_string("s", ""), std::string("a\0b", 3));
    EXPECT_EQ(m.attr_ints("is"), (std::vector<int64_t>{1, -2, int64_t{1} << 40}));
    EXPECT_EQ(m.attr_floats("fs"), (std::vector<float>{1.5f, -0.f}));
    EXPECT_TRUE(same_bytes(m.attr_tensor("t"), n.attributes.at("t").t));
    EXPECT_EQ(m.attr_strings("ss"), (std::vector<std::string>{"Sigmoid", "", "Tanh"}));
    ASSERT_EQ(back.initializers.size(), g.initializers.size());
    for (const auto& [name, t] : g.initializers) EXPECT_TRUE(same_bytes(back.initializers.at(name), t)) << name;
    EXPECT_EQ(back.values.at("x").shape, (Shape{2, -1}));
}

TEST(OnnxExport, BlockQuantizedTensorIsRefusedByName) {
    graph::Graph g = small_cnn_graph();
    g.initializers["packed"] = Tensor::zeros({32}, DType::q8_0);
    try {
        graph::export_onnx_bytes(g);
        FAIL() << "exported a q8_0 tensor";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("'packed'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("q8_0"), std::string::npos) << e.what();
    }
}

TEST(OnnxExport, FailedWritesLeaveNoFile) {
    testio::TempDir dir;
    graph::Graph g = small_cnn_graph();
    EXPECT_THROW(graph::export_onnx_file(g, dir.file("no/such/folder/m.onnx")), IoError);
    g.initializers["packed"] = Tensor::zeros({32}, DType::q8_0);
    EXPECT_THROW(graph::export_onnx_file(g, dir.file("m.onnx")), InputError);
    EXPECT_TRUE(fs::is_empty(dir.path()));
    g.initializers.erase("packed");
    graph::export_onnx_file(g, dir.file("m.onnx"));
    EXPECT_EQ(graph::import_onnx_file(dir.file("m.onnx")).nodes.size(), g.nodes.size());
}

// Every conformance case tern passes passes again after export and import:
// the writer keeps every attribute, initializer and input/output order these ops use.
TEST(OnnxExport, ConformanceCasesPassAfterTheRoundTrip) {
    const char* node_tests = "/usr/share/libonnx-testdata/data/node";
    if (!fs::is_directory(node_tests)) TERN_MISSING_REFERENCE() << node_tests << " not found (apt libonnx-testdata)";
    std::vector<std::string> dirs;
    for (const auto& e : fs::directory_iterator(node_tests))
        if (fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path().string());
    std::sort(dirs.begin(), dirs.end());
    int passed = 0;
    for (const std::string& dir : dirs) {
        if (run_conformance_case(dir).status != CaseResult::Status::pass) continue;
        const CaseResult r = run_conformance_case(dir, onnx_export_round_trip);
        EXPECT_EQ(r.status, CaseResult::Status::pass) << fs::path(dir).filename().string() << ": " << r.detail;
        passed += r.status == CaseResult::Status::pass;
    }
    std::cout << passed << " conformance cases pass after export and import\n";
    EXPECT_GT(passed, 100);
}

}  // namespace
}  // namespace tern::testgraph
