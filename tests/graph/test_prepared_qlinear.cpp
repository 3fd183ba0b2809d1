// graph/prepared_qlinear.h: the prepared QLinearConv (weights packed once,
// im2col over the whole batch, requantization in gemm_q8's epilogue; depthwise
// on a direct loop) gives the reference op's codes bit for bit, over
// signedness, batch, groups, pads, strides, dilations and bias, and is what the
// prepared executor picks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <utility>
#include <random>
#include <tuple>

#include "graph/executor.h"
#include "graph/prepared_executor.h"

namespace tern::graph {
namespace {

struct PreparedQlinearCase {
    int64_t n, c, h, w, o, k, stride, pad, dilation, groups;
    DType x, y;
    bool bias;
};

Tensor prepared_qlinear_random_codes(const Shape& s, DType t, std::mt19937& rng) {
    Tensor x = Tensor::empty(s, t);
    std::uniform_int_distribution<int> d(0, 255);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
    return x;
}

Tensor code_scalar(DType t, int v) {
    Tensor z = Tensor::empty({}, t);
    if (t == DType::i8) *z.data<int8_t>() = static_cast<int8_t>(v);
    else *z.data<uint8_t>() = static_cast<uint8_t>(v);
    return z;
}

Attribute prepared_qlinear_ints(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Attribute::Kind::ints;
    a.ints = std::move(v);
    return a;
}

Graph qlinear_conv_graph(const PreparedQlinearCase& c, std::mt19937& rng) {
    Graph g;
    g.opset = 13;
    g.inputs = {"x"};
    g.outputs = {"y"};
    g.values["x"] = ValueInfo{Shape{c.n, c.c, c.h, c.w}, c.x};
    Node n;
    n.op_type = "QLinearConv";
    n.name = "conv";
    n.inputs = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"};
    n.outputs = {"y"};
    n.attributes["strides"] = prepared_qlinear_ints({c.stride, c.stride});
    n.attributes["pads"] = prepared_qlinear_ints({c.pad, c.pad, c.pad, c.pad});
    n.attributes["dilations"] = prepared_qlinear_ints({c.dilation, c.dilation});
    Attribute grp;
    grp.kind = Attribute::Kind::int_;
    grp.i = c.groups;
    n.attributes["group"] = grp;
    g.initializers["xs"] = Tensor::from_floats({}, std::vector<float>{0.02f});
    g.initializers["xz"] = code_scalar(c.x, c.x == DType::i8 ? -3 : 117);
    Tensor w = prepared_qlinear_random_codes({c.o, c.c / c.groups, c.k, c.k}, DType::i8, rng);
    g.initializers["w"] = w;
    std::vector<float> ws(static_cast<size_t>(c.o));
    for (size_t i = 0; i < ws.size(); ++i) ws[i] = 0.001f * static_cast<float>(1 + i % 7);
    g.initializers["ws"] = Tensor::from_floats({c.o}, ws);
    g.initializers["wz"] = Tensor::zeros({c.o}, DType::i8);
    // A small output scale: many codes saturate, so the clamp is exercised too.
    g.initializers["ys"] = Tensor::from_floats({}, std::vector<float>{0.05f});
    g.initializers["yz"] = code_scalar(c.y, c.y == DType::i8 ? 5 : 120);
    if (c.bias) {
        Tensor b = Tensor::empty({c.o}, DType::i32);
        for (int64_t i = 0; i < c.o; ++i) b.data<int32_t>()[i] = static_cast<int32_t>(i * 977 % 4001) - 2000;
        g.initializers["b"] = b;
        n.inputs.push_back("b");
    }
    g.nodes.push_back(n);
    return g;
}

TEST(PreparedQLinearConv, EqualsTheReferenceOpBitForBit) {
    std::mt19937 rng(11);
    const PreparedQlinearCase cases[] = {
        {1, 3, 9, 9, 8, 3, 1, 1, 1, 1, DType::u8, DType::u8, true},
        {3, 5, 8, 7, 6, 3, 2, 1, 1, 1, DType::i8, DType::u8, true},
        {2, 4, 10, 10, 7, 3, 1, 2, 2, 1, DType::u8, DType::i8, false},
        {4, 16, 1, 1, 10, 1, 1, 0, 1, 1, DType::u8, DType::u8, true},   // a Gemm as a 1x1 conv
        {64, 20, 1, 1, 9, 1, 1, 0, 1, 1, DType::i8, DType::i8, true},   // batch 64, one position per image
        {2, 6, 7, 7, 6, 3, 1, 1, 1, 6, DType::u8, DType::u8, true},     // depthwise
        {3, 8, 9, 9, 8, 5, 2, 2, 1, 8, DType::i8, DType::u8, false},    // depthwise, stride 2
        {2, 4, 6, 6, 4, 3, 1, 1, 2, 4, DType::u8, DType::i8, true},     // depthwise, dilation 2
        {2, 5, 6, 21, 5, 3, 1, 1, 1, 5, DType::i8, DType::i8, true},    // depthwise rows of 8 + tail (SSE2 taps, requant)
        {1, 4, 5, 19, 4, 5, 1, 2, 1, 4, DType::u8, DType::u8, false},   // depthwise 5x5, wide rows
        {2, 12, 5, 5, 16, 1, 1, 0, 1, 1, DType::u8, DType::u8, true},   // 1x1 expansion
        {2, 13, 5, 7, 11, 1, 1, 0, 1, 1, DType::i8, DType::u8, true},   // 1x1: transposes with 8x8 tiles and ragged edges
        {1, 24, 8, 8, 16, 1, 1, 0, 1, 1, DType::u8, DType::i8, false},  // 1x1: whole tiles only
    };
    for (const PreparedQlinearCase& c : cases) {
        const Graph g = qlinear_conv_graph(c, rng);
        const Tensor x = prepared_qlinear_random_codes({c.n, c.c, c.h, c.w}, c.x, rng);
        const Tensor want = Executor(g).run({{"x", x}}).at("y");
        PreparedExecutor exec(g, {{"x", {c.n, c.c, c.h, c.w}}});
        EXPECT_EQ(exec.reference_nodes(), 0) << "the prepared step was not chosen, case o=" << c.o;
        for (int rep = 0; rep < 2; ++rep) {  // the second run reuses the scratch
            const Tensor got = exec.run({{"x", x}}).at("y");
            ASSERT_EQ(got.shape(), want.shape());
            ASSERT_EQ(got.dtype(), want.dtype());
            int64_t differ = 0;
            for (int64_t i = 0; i < got.numel(); ++i) differ += got.data<uint8_t>()[i] != want.data<uint8_t>()[i];
            EXPECT_EQ(differ, 0) << "case n=" << c.n << " c=" << c.c << " o=" << c.o << " k=" << c.k
                                 << " groups=" << c.groups;
        }
    }
}

TEST(PreparedQLinearConv, AsymmetricWeightsRunOnTheReferenceOp) {
    std::mt19937 rng(3);
    Graph g = qlinear_conv_graph({1, 3, 5, 5, 4, 3, 1, 1, 1, 1, DType::u8, DType::u8, false}, rng);
    g.initializers["wz"] = Tensor::empty({4}, DType::i8);
    for (int i = 0; i < 4; ++i) g.initializers["wz"].data<int8_t>()[i] = static_cast<int8_t>(i);
    PreparedExecutor exec(g, {{"x", {1, 3, 5, 5}}});
    EXPECT_EQ(exec.reference_nodes(), 1);
    const Tensor x = prepared_qlinear_random_codes({1, 3, 5, 5}, DType::u8, rng);
    const Tensor want = Executor(g).run({{"x", x}}).at("y");
    const Tensor got = exec.run({{"x", x}}).at("y");
    EXPECT_EQ(std::memcmp(got.data<uint8_t>(), want.data<uint8_t>(), static_cast<size_t>(got.nbytes())), 0);
}

// x -> QuantizeLinear -> DequantizeLinear -> y, per tensor, with constant parameters.
Graph quantize_dequantize_graph(DType codes, int zp) {
    Graph g;
    g.opset = 13;
    g.inputs = {"x"};
    g.outputs = {"y", "q"};
    g.values["x"] = ValueInfo{Shape{3, 1000}, DType::f32};
    g.initializers["s"] = Tensor::from_floats({}, std::vector<float>{0.5f});
    g.initializers["z"] = code_scalar(codes, zp);
    Node q;
    q.op_type = "QuantizeLinear", q.name = "q", q.inputs = {"x", "s", "z"}, q.outputs = {"q"};
    Node d;
    d.op_type = "DequantizeLinear", d.name = "d", d.inputs = {"q", "s", "z"}, d.outputs = {"y"};
    g.nodes = {q, d};
    return g;
}

TEST(PreparedQuantizeLinear, QuantizeAndDequantizeEqualTheReferenceOps) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-200.f, 200.f);
    for (const auto& [codes, zp] : {std::pair{DType::u8, 100}, std::pair{DType::i8, -7}}) {
        const Graph g = quantize_dequantize_graph(codes, zp);
        Tensor x = Tensor::empty({3, 1000}, DType::f32);
        float* px = x.data<float>();
        for (int64_t i = 0; i < x.numel(); ++i) px[i] = u(rng);
        // Ties (x / 0.5 = k + 0.5 rounds to even), both saturations, NaN and infinities.
        const float special[] = {0.25f, 0.75f, -1.25f, 1e9f, -1e9f, std::nanf(""), INFINITY, -INFINITY, 0.f, -0.f};
        for (size_t i = 0; i < std::size(special); ++i) px[i] = special[i];
        const auto want = Executor(g).run({{"x", x}});
        PreparedExecutor exec(g, {{"x", {3, 1000}}});
        EXPECT_EQ(exec.reference_nodes(), 0);
        const auto got = exec.run({{"x", x}});
        EXPECT_EQ(std::memcmp(got.at("q").data<uint8_t>(), want.at("q").data<uint8_t>(), 3000), 0);
        EXPECT_EQ(std::memcmp(got.at("y").data<float>(), want.at("y").data<float>(), 3000 * sizeof(float)), 0);
    }
}

TEST(PreparedMaxPool, CodesEqualTheReferenceOp) {
    std::mt19937 rng(13);
    for (DType codes : {DType::u8, DType::i8}) {
        for (const auto& [kernel, stride, pad] : {std::tuple{2, 2, 0}, std::tuple{3, 2, 1}, std::tuple{3, 1, 1}}) {
            Graph g;
            g.opset = 13;
            g.inputs = {"x"};
            g.outputs = {"y"};
            g.values["x"] = ValueInfo{Shape{3, 4, 9, 8}, codes};
            Node n;
            n.op_type = "MaxPool", n.name = "pool", n.inputs = {"x"}, n.outputs = {"y"};
            n.attributes["kernel_shape"] = prepared_qlinear_ints({kernel, kernel});
            n.attributes["strides"] = prepared_qlinear_ints({stride, stride});
            n.attributes["pads"] = prepared_qlinear_ints({pad, pad, pad, pad});
            g.nodes = {n};
            const Tensor x = prepared_qlinear_random_codes({3, 4, 9, 8}, codes, rng);
            const Tensor want = Executor(g).run({{"x", x}}).at("y");
            ASSERT_EQ(want.dtype(), codes);
            PreparedExecutor exec(g, {{"x", {3, 4, 9, 8}}});
            EXPECT_EQ(exec.reference_nodes(), 0);
            const Tensor got = exec.run({{"x", x}}).at("y");
            ASSERT_EQ(got.shape(), want.shape());
            EXPECT_EQ(std::memcmp(got.data<uint8_t>(), want.data<uint8_t>(), static_cast<size_t>(got.nbytes())), 0)
                << "kernel " << kernel << " stride " << stride << " pad " << pad;
            // The codes' max is the max of the values they stand for: against a float MaxPool of x as floats.
            Tensor xf = Tensor::empty(x.shape(), DType::f32);
            for (int64_t i = 0; i < x.numel(); ++i)
                xf.data<float>()[i] = codes == DType::i8 ? x.data<int8_t>()[i] : x.data<uint8_t>()[i];
            Graph gf = g;
            gf.values["x"] = ValueInfo{Shape{3, 4, 9, 8}, DType::f32};
            const Tensor yf = Executor(gf).run({{"x", xf}}).at("y");
            for (int64_t i = 0; i < got.numel(); ++i) {
                const float v = codes == DType::i8 ? got.data<int8_t>()[i] : got.data<uint8_t>()[i];
                ASSERT_EQ(v, yf.data<float>()[i]) << i;
            }
        }
    }
}

}  // namespace
}  // namespace tern::graph
