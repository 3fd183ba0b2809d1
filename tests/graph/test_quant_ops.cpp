// The quantization ops (ops_quant.cpp) and their integer products
// (int8_conv.h, int8_gemm.h): gemm_q8 fast paths bit-equal to the reference
// loops over signedness, zero points, groups and windows; ONNX's rounding and
// saturation rules; clear errors for bad parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "graph/int8_conv.h"
#include "graph/int8_gemm.h"
#include "graph/op_registry.h"

namespace tern::graph {
namespace {

Tensor quant_ops_random_codes(const Shape& s, DType t, std::mt19937& rng) {
    Tensor x = Tensor::empty(s, t);
    std::uniform_int_distribution<int> d(0, 255);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
    return x;
}

template <class T>
Tensor scalar(DType t, T v) {
    Tensor x = Tensor::empty({}, t);
    *x.data<T>() = v;
    return x;
}

Tensor floats(const Shape& s, std::vector<float> v) { return Tensor::from_floats(s, v); }

Attribute ints_attribute(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Attribute::Kind::ints;
    a.ints = std::move(v);
    return a;
}

std::vector<Tensor> run_op(Node n, const std::vector<const Tensor*>& in, size_t outs = 1) {
    if (n.name.empty()) n.name = n.op_type + "_0";
    for (size_t i = 0; i < in.size(); ++i) {
        std::string name;
        if (in[i]) name.append("i").append(std::to_string(i));
        n.inputs.push_back(name);
    }
    OpContext c{n, 13, in, std::vector<Tensor>(outs)};
    find_op(n.op_type)(c);
    return c.out;
}

TEST(Int8Gemm, FastPathEqualsReferenceOverSignednessAndZeroPoints) {
    std::mt19937 rng(3);
    for (bool a_signed : {false, true}) {
        for (bool b_signed : {false, true}) {
            for (bool b_nk : {false, true}) {
                for (int64_t per_col : {0, 1}) {
                    const int64_t M = 7, N = 19, K = 37;
                    const Tensor a = quant_ops_random_codes({M, K}, a_signed ? DType::i8 : DType::u8, rng);
                    const Tensor b = quant_ops_random_codes({N, K}, b_signed ? DType::i8 : DType::u8, rng);
                    const int32_t a_zp = a_signed ? -5 : 131;
                    std::vector<int32_t> b_zp(per_col ? N : 1);
                    for (size_t j = 0; j < b_zp.size(); ++j) b_zp[j] = (b_signed ? -128 : 0) + static_cast<int32_t>((j * 37 + 3) % 256);
                    Int8GemmArgs g;
                    g.m = M, g.n = N, g.k = K;
                    g.a = {a.data<uint8_t>(), a_signed};
                    g.b = {b.data<uint8_t>(), b_signed};
                    g.b_nk = b_nk;
                    g.a_zp = &a_zp;
                    g.b_zp = b_zp.data(), g.b_zp_count = static_cast<int64_t>(b_zp.size());
                    std::vector<int32_t> fast(M * N), ref(M * N);
                    g.c = fast.data();
                    int8_gemm(g);
                    g.c = ref.data();
                    int8_gemm_reference(g);
                    EXPECT_EQ(fast, ref) << a_signed << b_signed << b_nk << per_col;
                }
            }
        }
    }
}

TEST(Int8Conv, GemmPathEqualsDirectLoopsOverGroupsPadsStridesDilations) {
    std::mt19937 rng(11);
    struct Case {
        Shape x, w;
        int64_t group;
        std::vector<int64_t> pads, strides, dil;
    };
    const std::vector<Case> cases = {
        {{2, 3, 7, 6}, {5, 3, 3, 3}, 1, {1, 1, 1, 1}, {1, 1}, {1, 1}},
        {{1, 4, 9, 8}, {6, 2, 3, 2}, 2, {0, 2, 1, 0}, {2, 1}, {1, 2}},
        {{1, 4, 5, 5}, {4, 1, 3, 3}, 4, {1, 1, 1, 1}, {1, 1}, {1, 1}},  // depthwise
        {{2, 2, 11}, {3, 2, 4}, 1, {2, 1}, {2}, {1}},                 // 1-D
    };
    for (const Case& cs : cases) {
        for (DType xt : {DType::u8, DType::i8}) {
            for (DType wt : {DType::i8, DType::u8}) {
                Node n;
                n.op_type = "ConvInteger", n.name = "c";
                n.attributes["group"].i = cs.group;
                n.attributes["pads"] = ints_attribute(cs.pads);
                n.attributes["strides"] = ints_attribute(cs.strides);
                n.attributes["dilations"] = ints_attribute(cs.dil);
                const Tensor x = quant_ops_random_codes(cs.x, xt, rng), w = quant_ops_random_codes(cs.w, wt, rng);
                const int32_t x_zp = xt == DType::u8 ? 120 : -7;
                std::vector<int32_t> w_zp;
                for (int64_t o = 0; o < cs.w[0]; ++o) w_zp.push_back(static_cast<int32_t>(o * 13 % 50) - (wt == DType::i8 ? 25 : 0));
                const Tensor fast = integer_conv(n, x, x_zp, w, w_zp, true);
                const Tensor ref = integer_conv(n, x, x_zp, w, w_zp, false);
                ASSERT_EQ(fast.shape(), ref.shape());
                for (int64_t i = 0; i < ref.numel(); ++i) ASSERT_EQ(fast.data<int32_t>()[i], ref.data<int32_t>()[i]) << i;
            }
        }
    }
}

TEST(QuantOps, QuantizeLinearRoundsHalfToEvenAndSaturates) {
    Node n;
    n.op_type = "QuantizeLinear";
    const Tensor x = floats({6}, {0.5f, 1.5f, 2.5f, -2.5f, 1000.f, -1000.f});
    const Tensor s = floats({}, {1.f});
    const Tensor zu = scalar<uint8_t>(DType::u8, 10), zi = scalar<int8_t>(DType::i8, -3);
    const auto yu = run_op(n, {&x, &s, &zu})[0];
    EXPECT_EQ(std::vector<uint8_t>(yu.data<uint8_t>(), yu.data<uint8_t>() + 6), (std::vector<uint8_t>{10, 12, 12, 8, 255, 0}));
    const auto yi = run_op(n, {&x, &s, &zi})[0];
    EXPECT_EQ(std::vector<int8_t>(yi.data<int8_t>(), yi.data<int8_t>() + 6), (std::vector<int8_t>{-3, -1, -1, -5, 127, -128}));
    const auto yd = run_op(n, {&x, &s, nullptr})[0];  // no zero point: uint8, zp 0
    EXPECT_EQ(yd.dtype(), DType::u8);
    EXPECT_EQ(yd.data<uint8_t>()[3], 0);
}

TEST(QuantOps, PerAxisQuantizeAndDequantizeRoundTrip) {
    Node q, dq;
    q.op_type = "QuantizeLinear", dq.op_type = "DequantizeLinear";
    q.attributes["axis"].i = 0, dq.attributes["axis"].i = 0;
    const Tensor x = floats({2, 3}, {1.f, 2.f, 3.f, -4.f, 8.f, 12.f});
    const Tensor s = floats({2}, {0.5f, 4.f});
    Tensor z = Tensor::empty({2}, DType::i8);
    z.data<int8_t>()[0] = 1, z.data<int8_t>()[1] = -1;
    const auto y = run_op(q, {&x, &s, &z})[0];
    EXPECT_EQ(std::vector<int8_t>(y.data<int8_t>(), y.data<int8_t>() + 6), (std::vector<int8_t>{3, 5, 7, -2, 1, 2}));
    const auto back = run_op(dq, {&y, &s, &z})[0];
    for (int i = 0; i < 6; ++i) EXPECT_EQ(back.data<float>()[i], x.data<float>()[i]);
    const Tensor s_bad = floats({4}, {1.f, 1.f, 1.f, 1.f});
    EXPECT_THROW(run_op(q, {&x, &s_bad, nullptr}), InputError);
    const Tensor s_zero = floats({}, {0.f});
    EXPECT_THROW(run_op(q, {&x, &s_zero, nullptr}), InputError);
}

TEST(QuantOps, QLinearConvPerChannelWithBiasEqualsFloatDefinition) {
    // y = requant(sum (x - xzp)(w - 0) + bias) per output channel, checked element by element in double.
    std::mt19937 rng(5);
    Node n;
    n.op_type = "QLinearConv";
    n.attributes["pads"] = ints_attribute({1, 1, 1, 1});
    const Tensor x = quant_ops_random_codes({1, 2, 4, 4}, DType::u8, rng), w = quant_ops_random_codes({3, 2, 3, 3}, DType::i8, rng);
    const Tensor xs = floats({}, {0.02f}), ws = floats({3}, {0.01f, 0.003f, 0.005f}), ys = floats({}, {0.25f});
    const Tensor xz = scalar<uint8_t>(DType::u8, 100), yz = scalar<uint8_t>(DType::u8, 7);
    Tensor wz = Tensor::zeros({3}, DType::i8);
    Tensor bias = Tensor::empty({3}, DType::i32);
    bias.data<int32_t>()[0] = 500, bias.data<int32_t>()[1] = -2000, bias.data<int32_t>()[2] = 0;
    const auto y = run_op(n, {&x, &xs, &xz, &w, &ws, &wz, &ys, &yz, &bias})[0];
    ASSERT_EQ(y.shape(), (Shape{1, 3, 4, 4}));
    ASSERT_EQ(y.dtype(), DType::u8);
    Node ci = n;
    ci.op_type = "ConvInteger";
    const Tensor acc = integer_conv(ci, x, 100, w, {0}, false);
    for (int64_t i = 0; i < y.numel(); ++i) {
        const int64_t o = i / 16;
        const float real = static_cast<float>(acc.data<int32_t>()[i] + bias.data<int32_t>()[o]) *
                           ((0.02f * ws.data<float>()[o]) / 0.25f);
        const float want = std::clamp(std::nearbyint(real) + 7.f, 0.f, 255.f);
        EXPECT_EQ(y.data<uint8_t>()[i], static_cast<int>(want)) << i;
    }
    Tensor bad_bias = Tensor::empty({2}, DType::i32);
    EXPECT_THROW(run_op(n, {&x, &xs, &xz, &w, &ws, &wz, &ys, &yz, &bad_bias}), InputError);
}

TEST(QuantOps, DynamicQuantizeLinearAllZeroInputHasScaleOne) {
    Node n;
    n.op_type = "DynamicQuantizeLinear";
    const Tensor x = floats({3}, {0.f, 0.f, 0.f});
    const auto out = run_op(n, {&x}, 3);
    EXPECT_EQ(out[1].data<float>()[0], 1.f);
    EXPECT_EQ(out[2].data<uint8_t>()[0], 0);
    const Tensor bad = floats({2}, {1.f, std::nanf("")});
    EXPECT_THROW(run_op(n, {&bad}, 3), InputError);
}

}  // namespace
}  // namespace tern::graph
