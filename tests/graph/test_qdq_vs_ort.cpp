// Integer-only int8 inference against ONNX Runtime: a small CNN written at
// test time twice, as QOperator (QLinearConv per-channel with relu-folded
// output ranges, depthwise QLinearConv, QLinearMatMul) and as the same net in
// QDQ form. tern runs the first as is and the second after fuse_qdq (on the
// int8 kernels); both must give ORT's uint8 outputs within 1 LSB.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "graph/qdq_fuse.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "onnx_model_builder.h"
#include "ort_reference.h"

namespace tern::testgraph {
namespace {

template <class T>
void add_typed_init(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims, int type,
                    const std::vector<T>& v) {
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
}

// The net's parameters, chosen once: weights kept in [-63, 63] so no u8 x s8
// kernel (ORT's AVX2 vpmaddubsw path included) can saturate a pair sum.
struct Net {
    float xs = 0.02f, ys1 = 0.05f, ys2 = 0.04f, ws3 = 0.01f, ys3 = 0.1f;
    uint8_t xzp = 128, yzp3 = 128;
    std::vector<int8_t> w1, w2, w3;
    std::vector<float> ws1, ws2;
    std::vector<int32_t> b1, b2;
    Net() {
        for (int i = 0; i < 8 * 3 * 9; ++i) w1.push_back(static_cast<int8_t>((i * 37 + 11) % 127 - 63));
        for (int i = 0; i < 8 * 9; ++i) w2.push_back(static_cast<int8_t>((i * 53 + 5) % 127 - 63));
        for (int i = 0; i < 128 * 10; ++i) w3.push_back(static_cast<int8_t>((i * 29 + 7) % 127 - 63));
        for (int o = 0; o < 8; ++o) {
            ws1.push_back(0.002f + 0.0005f * static_cast<float>(o));
            ws2.push_back(0.01f + 0.002f * static_cast<float>(o));
            b1.push_back(o * 300 - 1000);
            b2.push_back(700 - o * 150);
        }
    }
    std::vector<float> bias_scale(const std::vector<float>& ws, float in_scale) const {
        std::vector<float> s;
        for (float w : ws) s.push_back(in_scale * w);
        return s;
    }
};

void add_common_inits(onnx::ModelProto& m, const Net& p) {
    using TP = onnx::TensorProto;
    add_initializer(m, "xs", {}, {p.xs});
    add_typed_init<uint8_t>(m, "xzp", {}, TP::UINT8, {p.xzp});
    add_typed_init<int8_t>(m, "w1", {8, 3, 3, 3}, TP::INT8, p.w1);
    add_initializer(m, "ws1", {8}, p.ws1);
    add_typed_init<int8_t>(m, "wzp1", {8}, TP::INT8, std::vector<int8_t>(8, 0));
    add_typed_init<int32_t>(m, "b1", {8}, TP::INT32, p.b1);
    add_initializer(m, "ys1", {}, {p.ys1});
    add_typed_init<uint8_t>(m, "yzp1", {}, TP::UINT8, {0});  // relu folded into the range [0, 255 * ys1]
    add_typed_init<int8_t>(m, "w2", {8, 1, 3, 3}, TP::INT8, p.w2);
    add_initializer(m, "ws2", {8}, p.ws2);
    add_typed_init<int8_t>(m, "wzp2", {8}, TP::INT8, std::vector<int8_t>(8, 0));
    add_typed_init<int32_t>(m, "b2", {8}, TP::INT32, p.b2);
    add_initializer(m, "ys2", {}, {p.ys2});
    add_typed_init<uint8_t>(m, "yzp2", {}, TP::UINT8, {0});
    add_typed_init<int64_t>(m, "flat", {2}, TP::INT64, {-1, 128});
    add_typed_init<int8_t>(m, "w3", {128, 10}, TP::INT8, p.w3);
    add_initializer(m, "ws3", {}, {p.ws3});
    add_typed_init<int8_t>(m, "wzp3", {}, TP::INT8, {0});
    add_initializer(m, "ys3", {}, {p.ys3});
    add_typed_init<uint8_t>(m, "yzp3", {}, TP::UINT8, {p.yzp3});
}

void conv_attrs(onnx::NodeProto* n, bool depthwise) {
    add_ints_attr(n, "kernel_shape", {3, 3});
    add_ints_attr(n, "pads", {1, 1, 1, 1});
    if (depthwise) {
        add_int_attr(n, "group", 8);
        add_ints_attr(n, "strides", {2, 2});
    }
}

onnx::ModelProto qoperator_net(const Net& p) {
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "x", {-1, 3, 8, 8});
    add_value(g->mutable_output(), "y", {-1, 10}, onnx::TensorProto::UINT8);
    add_common_inits(m, p);
    add_node(m, "QuantizeLinear", "q_in", {"x", "xs", "xzp"}, {"xq"});
    conv_attrs(add_node(m, "QLinearConv", "conv1", {"xq", "xs", "xzp", "w1", "ws1", "wzp1", "ys1", "yzp1", "b1"}, {"h1"}), false);
    conv_attrs(add_node(m, "QLinearConv", "conv2", {"h1", "ys1", "yzp1", "w2", "ws2", "wzp2", "ys2", "yzp2", "b2"}, {"h2"}), true);
    add_node(m, "Reshape", "flatten", {"h2", "flat"}, {"h2f"});
    add_node(m, "QLinearMatMul", "fc", {"h2f", "ys2", "yzp2", "w3", "ws3", "wzp3", "ys3", "yzp3"}, {"y"});
    return m;
}

// relu: a Relu between each Conv and its Q (absorbed by the zero point 0 ranges).
onnx::ModelProto qdq_net(const Net& p, bool relu = false) {
    using TP = onnx::TensorProto;
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "x", {-1, 3, 8, 8});
    add_value(g->mutable_output(), "y", {-1, 10}, TP::UINT8);
    add_common_inits(m, p);
    add_initializer(m, "bs1", {8}, p.bias_scale(p.ws1, p.xs));
    add_initializer(m, "bs2", {8}, p.bias_scale(p.ws2, p.ys1));
    add_typed_init<int32_t>(m, "bzp", {8}, TP::INT32, std::vector<int32_t>(8, 0));
    auto per_channel = [](onnx::NodeProto* n) { add_int_attr(n, "axis", 0); };
    add_node(m, "QuantizeLinear", "q_in", {"x", "xs", "xzp"}, {"xq"});
    add_node(m, "DequantizeLinear", "dq_in", {"xq", "xs", "xzp"}, {"xd"});
    per_channel(add_node(m, "DequantizeLinear", "dq_w1", {"w1", "ws1", "wzp1"}, {"w1d"}));
    per_channel(add_node(m, "DequantizeLinear", "dq_b1", {"b1", "bs1", "bzp"}, {"b1d"}));
    conv_attrs(add_node(m, "Conv", "conv1", {"xd", "w1d", "b1d"}, {relu ? "c1r" : "c1"}), false);
    if (relu) add_node(m, "Relu", "relu1", {"c1r"}, {"c1"});
    add_node(m, "QuantizeLinear", "q1", {"c1", "ys1", "yzp1"}, {"c1q"});
    add_node(m, "DequantizeLinear", "dq1", {"c1q", "ys1", "yzp1"}, {"c1d"});
    per_channel(add_node(m, "DequantizeLinear", "dq_w2", {"w2", "ws2", "wzp2"}, {"w2d"}));
    per_channel(add_node(m, "DequantizeLinear", "dq_b2", {"b2", "bs2", "bzp"}, {"b2d"}));
    conv_attrs(add_node(m, "Conv", "conv2", {"c1d", "w2d", "b2d"}, {relu ? "c2r" : "c2"}), true);
    if (relu) add_node(m, "Relu", "relu2", {"c2r"}, {"c2"});
    add_node(m, "QuantizeLinear", "q2", {"c2", "ys2", "yzp2"}, {"c2q"});
    add_node(m, "DequantizeLinear", "dq2", {"c2q", "ys2", "yzp2"}, {"c2d"});
    add_node(m, "Reshape", "flatten", {"c2d", "flat"}, {"f"});
    add_node(m, "QuantizeLinear", "qf", {"f", "ys2", "yzp2"}, {"fq"});
    add_node(m, "DequantizeLinear", "dqf", {"fq", "ys2", "yzp2"}, {"fd"});
    add_node(m, "DequantizeLinear", "dq_w3", {"w3", "ws3", "wzp3"}, {"w3d"});
    add_node(m, "MatMul", "fc", {"fd", "w3d"}, {"m"});
    add_node(m, "QuantizeLinear", "q_out", {"m", "ys3", "yzp3"}, {"y"});
    return m;
}

Tensor qdq_vs_ort_test_input(int64_t batch) {
    std::vector<float> x(static_cast<size_t>(batch * 3 * 64));
    for (size_t i = 0; i < x.size(); ++i) x[i] = 2.4f * std::sin(0.37f * static_cast<float>(i)) + 0.3f * std::cos(1.3f * static_cast<float>(i));
    return Tensor::from_floats({batch, 3, 8, 8}, x);
}

int max_lsb_difference(const Tensor& got, const Tensor& want) {
    EXPECT_EQ(got.dtype(), DType::u8);
    EXPECT_EQ(got.shape(), want.shape());
    if (got.shape() != want.shape() || got.dtype() != want.dtype()) return 256;
    int worst = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
        worst = std::max(worst, std::abs(int{got.data<uint8_t>()[i]} - int{want.data<uint8_t>()[i]}));
    }
    return worst;
}

TEST(QdqVsOrt, QOperatorAndQdqNetsMatchOnnxRuntimeWithinOneLsb) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    testio::TempDir dir;
    const Net p;
    const std::string qop = save_model(qoperator_net(p), dir.file("qop.onnx"));
    const std::string qdq = save_model(qdq_net(p), dir.file("qdq.onnx"));
    const Tensor input = qdq_vs_ort_test_input(2);
    write_npy(dir.file("x.npy"), input);

    const Tensor ort_qop = read_npy(testref::ort_run(qop, {{"x", dir.file("x.npy")}}, dir.file("ort_qop")).outputs.at(0).file);
    const Tensor ort_qdq = read_npy(testref::ort_run(qdq, {{"x", dir.file("x.npy")}}, dir.file("ort_qdq")).outputs.at(0).file);

    const graph::Graph g_qop = graph::import_onnx_file(qop);
    const Tensor tern_qop = graph::Executor(g_qop).run({{"x", input}}).at("y");

    graph::QdqFuseStats stats;
    const graph::Graph g_qdq = graph::fuse_qdq(graph::import_onnx_file(qdq), &stats);
    EXPECT_EQ(stats.convs, 2);
    EXPECT_EQ(stats.matmuls, 1);
    EXPECT_EQ(stats.data_movement, 1);
    for (const auto& n : g_qdq.nodes) EXPECT_NE(n.op_type, "DequantizeLinear") << n.name << " left in the fused graph";
    const Tensor tern_qdq = graph::Executor(g_qdq).run({{"x", input}}).at("y");

    const int lsb_qop = max_lsb_difference(tern_qop, ort_qop), lsb_qdq = max_lsb_difference(tern_qdq, ort_qdq);
    std::cout << "max |tern - ORT| in output LSBs: QOperator " << lsb_qop << ", QDQ (fused) " << lsb_qdq
              << "; ORT QOperator vs ORT QDQ " << max_lsb_difference(ort_qop, ort_qdq) << "\n";
    EXPECT_LE(lsb_qop, 1);
    EXPECT_LE(lsb_qdq, 1);

    // The same QDQ net with explicit Relus before the Qs: absorbed, still integer-only.
    const std::string qdq_relu = save_model(qdq_net(p, true), dir.file("qdq_relu.onnx"));
    const Tensor ort_relu = read_npy(testref::ort_run(qdq_relu, {{"x", dir.file("x.npy")}}, dir.file("ort_relu")).outputs.at(0).file);
    graph::QdqFuseStats relu_stats;
    const graph::Graph g_relu = graph::fuse_qdq(graph::import_onnx_file(qdq_relu), &relu_stats);
    EXPECT_EQ(relu_stats.convs, 2);
    for (const auto& n : g_relu.nodes) EXPECT_NE(n.op_type, "Relu") << n.name;
    const int lsb_relu = max_lsb_difference(graph::Executor(g_relu).run({{"x", input}}).at("y"), ort_relu);
    std::cout << "QDQ with Relus (fused): max |tern - ORT| " << lsb_relu << " LSB\n";
    EXPECT_LE(lsb_relu, 1);
    // The outputs are not degenerate (a net saturated everywhere would match trivially).
    int distinct = 0;
    for (int64_t i = 1; i < tern_qop.numel(); ++i) distinct += tern_qop.data<uint8_t>()[i] != tern_qop.data<uint8_t>()[0];
    EXPECT_GT(distinct, 5);
}

// x (M, 16) -> Q -> DQ -> Gemm(DQ(w (10, 16) int8 per output channel), DQ(bias int32), transB) -> Q.
onnx::ModelProto qdq_gemm(bool trans_b) {
    using TP = onnx::TensorProto;
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "x", {-1, 16});
    add_value(g->mutable_output(), "y", {-1, 10}, TP::UINT8);
    std::vector<int8_t> w(160);
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>((i * 41 + 3) % 127 - 63);
    std::vector<float> ws, bs;
    std::vector<int32_t> b;
    for (int j = 0; j < 10; ++j) {
        ws.push_back(0.003f + 0.001f * static_cast<float>(j));
        bs.push_back(0.03f * ws.back());
        b.push_back(j * 97 - 400);
    }
    add_initializer(m, "xs", {}, {0.03f});
    add_typed_init<uint8_t>(m, "xzp", {}, TP::UINT8, {120});
    add_typed_init<int8_t>(m, "w", trans_b ? std::vector<int64_t>{10, 16} : std::vector<int64_t>{16, 10}, TP::INT8, w);
    add_initializer(m, "ws", {10}, ws);
    add_typed_init<int32_t>(m, "b", {10}, TP::INT32, b);
    add_initializer(m, "bs", {10}, bs);
    add_initializer(m, "ys", {}, {0.07f});
    add_typed_init<uint8_t>(m, "yzp", {}, TP::UINT8, {100});
    add_node(m, "QuantizeLinear", "q_in", {"x", "xs", "xzp"}, {"xq"});
    add_node(m, "DequantizeLinear", "dq_in", {"xq", "xs", "xzp"}, {"xd"});
    add_int_attr(add_node(m, "DequantizeLinear", "dq_w", {"w", "ws"}, {"wd"}), "axis", trans_b ? 0 : 1);
    add_int_attr(add_node(m, "DequantizeLinear", "dq_b", {"b", "bs"}, {"bd"}), "axis", 0);
    add_int_attr(add_node(m, "Gemm", "fc", {"xd", "wd", "bd"}, {"g"}), "transB", trans_b ? 1 : 0);
    add_node(m, "QuantizeLinear", "q_out", {"g", "ys", "yzp"}, {"y"});
    return m;
}

TEST(QdqVsOrt, QdqGemmFusedToIntegerConvMatchesOnnxRuntime) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    testio::TempDir dir;
    std::vector<float> x(3 * 16);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 3.f * std::sin(0.61f * static_cast<float>(i));
    const Tensor input = Tensor::from_floats({3, 16}, x);
    write_npy(dir.file("x.npy"), input);
    for (bool trans_b : {true, false}) {
        const std::string model = save_model(qdq_gemm(trans_b), dir.file("gemm.onnx"));
        const Tensor ort = read_npy(testref::ort_run(model, {{"x", dir.file("x.npy")}}, dir.file(trans_b ? "o1" : "o2")).outputs.at(0).file);
        graph::QdqFuseStats stats;
        const graph::Graph g = graph::fuse_qdq(graph::import_onnx_file(model), &stats);
        EXPECT_EQ(stats.gemms, 1);
        const Tensor got = graph::Executor(g).run({{"x", input}}).at("y");
        const int lsb = max_lsb_difference(got, ort);
        std::cout << "QDQ Gemm (transB " << trans_b << "): max |tern - ORT| " << lsb << " LSB\n";
        EXPECT_LE(lsb, 1);
    }
}

TEST(QdqFuse, FusedQdqNetRunsTheQOperatorNetsArithmetic) {
    // Without ORT: the fused QDQ graph is the QOperator graph (same integer ops, same parameters).
    testio::TempDir dir;
    const Net p;
    const graph::Graph qop = graph::import_onnx_file(save_model(qoperator_net(p), dir.file("qop.onnx")));
    const graph::Graph qdq = graph::import_onnx_file(save_model(qdq_net(p), dir.file("qdq.onnx")));
    const graph::Graph fused = graph::fuse_qdq(qdq);
    int qlinear = 0;
    for (const auto& n : fused.nodes) qlinear += n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul";
    EXPECT_EQ(qlinear, 3);
    const Tensor input = qdq_vs_ort_test_input(2);
    const Tensor a = graph::Executor(qop).run({{"x", input}}).at("y");
    const Tensor b = graph::Executor(fused).run({{"x", input}}).at("y");
    EXPECT_EQ(max_lsb_difference(a, b), 0);
    // The unfused QDQ graph (float Conv / MatMul between Q and DQ) rounds differently per layer,
    // and a one-LSB change early can grow a little downstream: close, not equal.
    const Tensor c = graph::Executor(qdq).run({{"x", input}}).at("y");
    const int unfused = max_lsb_difference(a, c);
    std::cout << "unfused QDQ (float ops) vs integer: max " << unfused << " LSB\n";
    EXPECT_LE(unfused, 4);
}

TEST(QdqFuse, LeavesNonMatchingPatternsInFloat) {
    // A Conv whose output is read twice (by Q and a graph output) stays a float Conv.
    const Net p;
    onnx::ModelProto m = qdq_net(p);
    add_value(m.mutable_graph()->mutable_output(), "c1", {-1, 8, 8, 8});
    testio::TempDir dir;
    const std::string path = save_model(m, dir.file("m.onnx"));
    graph::QdqFuseStats stats;
    const graph::Graph g = graph::fuse_qdq(graph::import_onnx_file(path), &stats);
    EXPECT_EQ(stats.convs, 1);
    EXPECT_EQ(stats.matmuls, 1);
    // Still runs, and the fused and unfused graphs agree on y (the float Conv feeds the same Q).
    const Tensor input = qdq_vs_ort_test_input(1);
    const graph::Graph plain = graph::import_onnx_file(path);
    const Tensor a = graph::Executor(g).run({{"x", input}}).at("y");
    const Tensor b = graph::Executor(plain).run({{"x", input}}).at("y");
    EXPECT_LE(max_lsb_difference(a, b), 1);
}

TEST(QdqFuse, BiasWhoseScaleIsNotInputTimesWeightScaleStaysFloat) {
    // The int32 bias is only the integer op's bias when its DQ scale is x_scale * w_scale.
    Net p;
    onnx::ModelProto m = qdq_net(p);
    for (auto& t : *m.mutable_graph()->mutable_initializer()) {
        if (t.name() == "bs2") {
            for (int i = 0; i < t.float_data_size(); ++i) t.set_float_data(i, t.float_data(i) * 2.f);
        }
    }
    testio::TempDir dir;
    graph::QdqFuseStats stats;
    const graph::Graph g = graph::fuse_qdq(graph::import_onnx_file(save_model(m, dir.file("m.onnx"))), &stats);
    EXPECT_EQ(stats.convs, 1);
    const Tensor y = graph::Executor(g).run({{"x", qdq_vs_ort_test_input(1)}}).at("y");
    EXPECT_EQ(y.shape(), (Shape{1, 10}));
}

}  // namespace
}  // namespace tern::testgraph
