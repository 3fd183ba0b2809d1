// tern run on quantized ONNX models written at test time: a QLinearConv model
// runs and writes uint8 codes; broken quantization parameters give one error
// line naming the node and the problem, exit 1.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "onnx_model_builder.h"

namespace tern::testgraph {
namespace {

using testcli::run_tern;

template <class T>
void add_raw_init(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims, int type,
                  const std::vector<T>& v) {
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
}

// x (1, 2, 3, 3) uint8 -> QLinearConv 1x1 (2 -> 2, per-channel weights, int32 bias of `bias_len`) -> y uint8.
onnx::ModelProto qlinear_conv_model(int64_t bias_len, float x_scale) {
    using TP = onnx::TensorProto;
    onnx::ModelProto m = model_with_opset(13);
    auto* g = m.mutable_graph();
    add_value(g->mutable_input(), "x", {1, 2, 3, 3}, TP::UINT8);
    add_value(g->mutable_output(), "y", {1, 2, 3, 3}, TP::UINT8);
    add_initializer(m, "xs", {}, {x_scale});
    add_raw_init<uint8_t>(m, "xzp", {}, TP::UINT8, {10});
    add_raw_init<int8_t>(m, "w", {2, 2, 1, 1}, TP::INT8, {1, 2, -3, 4});
    add_initializer(m, "ws", {2}, {0.5f, 0.25f});
    add_raw_init<int8_t>(m, "wzp", {2}, TP::INT8, {0, 0});
    add_initializer(m, "ys", {}, {0.5f});
    add_raw_init<uint8_t>(m, "yzp", {}, TP::UINT8, {100});
    add_raw_init<int32_t>(m, "b", {bias_len}, TP::INT32, std::vector<int32_t>(static_cast<size_t>(bias_len), 3));
    add_node(m, "QLinearConv", "qconv", {"x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp", "b"}, {"y"});
    return m;
}

TEST(QuantCli, RunsQLinearConvAndWritesUint8Codes) {
    testio::TempDir dir;
    const std::string model = save_model(qlinear_conv_model(2, 1.f), dir.file("q.onnx"));
    Tensor x = Tensor::empty({1, 2, 3, 3}, DType::u8);
    for (int i = 0; i < 18; ++i) x.data<uint8_t>()[i] = static_cast<uint8_t>(10 + i);
    write_npy(dir.file("x.npy"), x);
    const auto r = run_tern("run " + model + " --input " + dir.file("x.npy") + " --output " + dir.file("y.npy"));
    ASSERT_EQ(r.code, 0) << r.err;
    const Tensor y = read_npy(dir.file("y.npy"));
    ASSERT_EQ(y.dtype(), DType::u8);
    // Channel 0 at pixel 0: (0 * 1 + 9 * 2 + 3) * (1 * 0.5 / 0.5) + 100 = 121.
    EXPECT_EQ(y.data<uint8_t>()[0], 121);
    // Channel 1 at pixel 0: (0 * -3 + 9 * 4 + 3) * (0.25 / 0.5) = 19.5 -> 20 (half to even) + 100.
    EXPECT_EQ(y.data<uint8_t>()[9], 120);
}

TEST(QuantCli, BrokenQuantizationParametersExitOneWithOneLine) {
    testio::TempDir dir;
    Tensor x = Tensor::zeros({1, 2, 3, 3}, DType::u8);
    write_npy(dir.file("x.npy"), x);
    const struct {
        onnx::ModelProto model;
        std::string expect;
    } cases[] = {
        {qlinear_conv_model(3, 1.f), "node 'qconv': bias is i32 [3]; QLinearConv needs int32 (2)"},
        {qlinear_conv_model(2, 0.f), "node 'qconv': x_scale 0 is not a positive finite float"},
    };
    int i = 0;
    for (const auto& c : cases) {
        const std::string model = save_model(c.model, dir.file("m" + std::to_string(i++) + ".onnx"));
        const auto r = run_tern("run " + model + " --input " + dir.file("x.npy"));
        EXPECT_EQ(r.code, 1) << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

}  // namespace
}  // namespace tern::testgraph
