// Each op's forward and gradients against PyTorch autograd (tests/ref/nn_ref.py).
#include <cstdio>

#include "nn/ops.h"
#include "nn_test_util.h"
#include "torch_ref.h"

namespace tern::nn {
namespace {

using test::random_tensor;
using test::RefCase;
using test::RegisterRefCase;
using test::torch_ref;

constexpr double kNnTorchOpsTol = 1e-4;  // max relative error vs torch

Tensor ids_tensor(const std::vector<int64_t>& ids) {
    std::vector<float> f(ids.begin(), ids.end());
    return Tensor::from_floats({static_cast<int64_t>(ids.size())}, f);
}

// Compares tern's result against torch's `case/name`; prints the error so the
// per-op accuracy is visible in the test log.
void nn_torch_ops_expect_close(const std::string& c, const std::string& name, const Tensor& got) {
    const Tensor* want = torch_ref().find(c, name);
    ASSERT_NE(want, nullptr) << c << "/" << name << " missing from torch output";
    ASSERT_EQ(got.numel(), want->numel()) << c << "/" << name;
    const double e = test::rel_err(got.data<float>(), want->data<float>(), got.numel());
    std::printf("[torch] %-18s %-14s rel_err %.2e\n", c.c_str(), name.c_str(), e);
    EXPECT_LT(e, kNnTorchOpsTol) << c << "/" << name;
}

#define SKIP_WITHOUT_TORCH()                                                 \
    TERN_REQUIRE_REFERENCE(torch_ref().reference)

// Runs f on the case's inputs (those listed as differentiable get grads),
// backprops sum(out * r), compares y and g<name> for each.
template <class F>
void check_op(const RefCase& c, const std::vector<std::string>& diff, F f) {
    std::map<std::string, Var> v;
    for (const auto& [n, t] : c.inputs) {
        bool d = std::find(diff.begin(), diff.end(), n) != diff.end();
        v[n] = Var(t.clone(), d);
    }
    Var y = f(v);
    sum(mul(y, Var(c.input("r")))).backward();
    nn_torch_ops_expect_close(c.name, "y", y.value());
    for (const auto& n : diff) nn_torch_ops_expect_close(c.name, "g" + n, v[n].grad());
}

RefCase linear_case() {
    Rng rng(100);
    return {"linear", {{"kind", "linear"}},
            {{"x", random_tensor({3, 4, 5}, rng)}, {"w", random_tensor({6, 5}, rng)}, {"b", random_tensor({6}, rng)},
             {"r", random_tensor({3, 4, 6}, rng)}}};
}
RegisterRefCase reg_linear(linear_case);
TEST(NnTorch, Linear) {
    SKIP_WITHOUT_TORCH();
    check_op(linear_case(), {"x", "w", "b"}, [](auto& v) { return linear(v["x"], v["w"], v["b"]); });
}

struct ConvSpec {
    const char* name;
    int64_t cin, cout, k, stride, pad, dil, groups;
    int64_t H = 9, W = 8;
};
// Each of conv2d's paths: im2col + GEMM (strided, dilated, grouped), the
// direct small-channel kernels (stride 1: LeNet-like 5x5 with and without
// padding), depthwise 3x3 at stride 1 and 2 (SIMD kernels, rows wider than one
// AVX-512 vector) and a depthwise layer with two outputs per channel.
const ConvSpec kConvs[] = {
    {"conv_s2p1", 3, 4, 3, 2, 1, 1, 1},
    {"conv_depthwise", 4, 4, 3, 1, 1, 1, 4},
    {"conv_dilation2", 3, 5, 3, 1, 2, 2, 1},
    {"conv_groups2", 4, 6, 3, 2, 1, 1, 2},
    {"conv_direct_5x5p2", 1, 6, 5, 1, 2, 1, 1, 12, 19},
    {"conv_direct_5x5", 3, 7, 5, 1, 0, 1, 1, 10, 11},
    {"conv_dw_s1_wide", 3, 3, 3, 1, 1, 1, 3, 6, 21},
    {"conv_dw_s2_wide", 3, 3, 3, 2, 1, 1, 3, 7, 35},
    {"conv_dw_mult2", 2, 4, 3, 1, 1, 1, 2, 5, 18},
};
constexpr int kConvCount = static_cast<int>(sizeof(kConvs) / sizeof(kConvs[0]));
RefCase conv_case(int i) {
    const ConvSpec& s = kConvs[i];
    Rng rng(200 + i);
    const int64_t H = s.H, W = s.W;
    const int64_t OH = (H + 2 * s.pad - s.dil * (s.k - 1) - 1) / s.stride + 1;
    const int64_t OW = (W + 2 * s.pad - s.dil * (s.k - 1) - 1) / s.stride + 1;
    return {s.name,
            {{"kind", "conv"}, {"stride", s.stride}, {"padding", s.pad}, {"dilation", s.dil}, {"groups", s.groups}},
            {{"x", random_tensor({2, s.cin, H, W}, rng)},
             {"w", random_tensor({s.cout, s.cin / s.groups, s.k, s.k}, rng)},
             {"b", random_tensor({s.cout}, rng)},
             {"r", random_tensor({2, s.cout, OH, OW}, rng)}}};
}
RegisterRefCase reg_conv0([] { return conv_case(0); }), reg_conv1([] { return conv_case(1); }),
    reg_conv2([] { return conv_case(2); }), reg_conv3([] { return conv_case(3); }),
    reg_conv4([] { return conv_case(4); }), reg_conv5([] { return conv_case(5); }),
    reg_conv6([] { return conv_case(6); }), reg_conv7([] { return conv_case(7); }),
    reg_conv8([] { return conv_case(8); });
TEST(NnTorch, Conv2d) {
    SKIP_WITHOUT_TORCH();
    for (int i = 0; i < kConvCount; ++i) {
        const ConvSpec& s = kConvs[i];
        Conv2dParams p;
        p.stride_h = p.stride_w = s.stride;
        p.pad_h = p.pad_w = s.pad;
        p.dilation_h = p.dilation_w = s.dil;
        p.groups = s.groups;
        check_op(conv_case(i), {"x", "w", "b"}, [&](auto& v) { return conv2d(v["x"], v["w"], v["b"], p); });
    }
}

RefCase pool_case(const char* kind) {
    Rng rng(300);
    const bool gap = std::string(kind) == "gap";
    return {std::string("pool_") + kind,
            {{"kind", kind}, {"k", 3}, {"s", 2}, {"p", 1}},
            {{"x", random_tensor({2, 3, 9, 8}, rng)}, {"r", random_tensor(gap ? Shape{2, 3} : Shape{2, 3, 5, 4}, rng)}}};
}
// 2x2 / stride 2 (the SIMD kernel's case), windows tiling the plane, rows
// wider than one AVX-512 vector of outputs. (Odd sizes, where a row and a
// column belong to no window, are covered by the finite-difference test.)
RefCase maxpool2_case() {
    Rng rng(301);
    return {"pool_maxpool2x2",
            {{"kind", "maxpool"}, {"k", 2}, {"s", 2}, {"p", 0}},
            {{"x", random_tensor({2, 3, 8, 38}, rng)}, {"r", random_tensor({2, 3, 4, 19}, rng)}}};
}
RegisterRefCase reg_maxpool([] { return pool_case("maxpool"); }), reg_avgpool([] { return pool_case("avgpool"); }),
    reg_gap([] { return pool_case("gap"); }), reg_maxpool2(maxpool2_case);
TEST(NnTorch, Pools) {
    SKIP_WITHOUT_TORCH();
    const Pool2dParams p{3, 3, 2, 2, 1, 1};
    check_op(pool_case("maxpool"), {"x"}, [&](auto& v) { return max_pool2d(v["x"], p); });
    check_op(pool_case("avgpool"), {"x"}, [&](auto& v) { return avg_pool2d(v["x"], p); });
    check_op(pool_case("gap"), {"x"}, [&](auto& v) { return global_avg_pool2d(v["x"]); });
    const Pool2dParams p2{2, 2, 2, 2, 0, 0};
    check_op(maxpool2_case(), {"x"}, [&](auto& v) { return max_pool2d(v["x"], p2); });
}

RefCase batchnorm_case() {
    Rng rng(400);
    Tensor rm = random_tensor({3}, rng, 0.1f), rv = Tensor::from_floats({3}, std::vector<float>{1.0f, 0.5f, 2.0f});
    return {"batchnorm", {{"kind", "batchnorm"}, {"momentum", 0.1}, {"eps", 1e-5}},
            {{"x", random_tensor({4, 3, 5, 5}, rng, 2.0f)}, {"g", random_tensor({3}, rng)},
             {"b", random_tensor({3}, rng)}, {"rm", rm}, {"rv", rv}, {"r", random_tensor({4, 3, 5, 5}, rng)}}};
}
RegisterRefCase reg_bn(batchnorm_case);
TEST(NnTorch, BatchNormTrain) {
    SKIP_WITHOUT_TORCH();
    RefCase c = batchnorm_case();
    Tensor rm = c.input("rm").clone(), rv = c.input("rv").clone();
    check_op(c, {"x", "g", "b"}, [&](auto& v) { return batch_norm(v["x"], v["g"], v["b"], rm, rv, true, 0.1f, 1e-5f); });
    nn_torch_ops_expect_close(c.name, "rm", rm);
    nn_torch_ops_expect_close(c.name, "rv", rv);
}

RefCase layernorm_case() {
    Rng rng(500);
    return {"layernorm", {{"kind", "layernorm"}, {"eps", 1e-5}},
            {{"x", random_tensor({2, 5, 16}, rng, 3.0f)}, {"w", random_tensor({16}, rng)},
             {"b", random_tensor({16}, rng)}, {"r", random_tensor({2, 5, 16}, rng)}}};
}
RefCase rmsnorm_case() {
    Rng rng(501);
    return {"rmsnorm", {{"kind", "rmsnorm"}, {"eps", 1e-6}},
            {{"x", random_tensor({2, 5, 16}, rng, 3.0f)}, {"w", random_tensor({16}, rng)},
             {"r", random_tensor({2, 5, 16}, rng)}}};
}
RegisterRefCase reg_ln(layernorm_case), reg_rms(rmsnorm_case);
TEST(NnTorch, LayerNormRmsNorm) {
    SKIP_WITHOUT_TORCH();
    check_op(layernorm_case(), {"x", "w", "b"}, [](auto& v) { return layer_norm(v["x"], v["w"], v["b"], 1e-5f); });
    check_op(rmsnorm_case(), {"x", "w"}, [](auto& v) { return rms_norm(v["x"], v["w"], 1e-6f); });
}

const std::vector<int64_t> kEmbIds{3, 0, 7, 3, 3, 9, 1, 0};
RefCase embedding_case() {
    Rng rng(600);
    return {"embedding", {{"kind", "embedding"}},
            {{"w", random_tensor({10, 6}, rng)}, {"ids", ids_tensor(kEmbIds)}, {"r", random_tensor({8, 6}, rng)}}};
}
RegisterRefCase reg_emb(embedding_case);
TEST(NnTorch, Embedding) {
    SKIP_WITHOUT_TORCH();
    check_op(embedding_case(), {"w"}, [](auto& v) { return embedding(v["w"], kEmbIds, {8}); });
}

RefCase attention_case() {
    Rng rng(700);
    return {"attention_gqa", {{"kind", "attention"}},
            {{"q", random_tensor({2, 7, 4, 8}, rng)}, {"k", random_tensor({2, 7, 2, 8}, rng)},
             {"v", random_tensor({2, 7, 2, 8}, rng)}, {"r", random_tensor({2, 7, 4, 8}, rng)}}};
}
RegisterRefCase reg_att(attention_case);
TEST(NnTorch, CausalAttentionGqa) {
    SKIP_WITHOUT_TORCH();
    check_op(attention_case(), {"q", "k", "v"}, [](auto& v) { return causal_attention(v["q"], v["k"], v["v"]); });
}

RefCase rope_case(const char* layout) {
    Rng rng(800);
    return {std::string("rope_") + layout, {{"kind", "rope"}, {"layout", layout}, {"theta", 10000.0}, {"offset", 5}},
            {{"x", random_tensor({2, 6, 3, 8}, rng)}, {"r", random_tensor({2, 6, 3, 8}, rng)}}};
}
RegisterRefCase reg_rope_a([] { return rope_case("adjacent_pairs"); }),
    reg_rope_h([] { return rope_case("half_split"); });
TEST(NnTorch, Rope) {
    SKIP_WITHOUT_TORCH();
    check_op(rope_case("adjacent_pairs"), {"x"},
             [](auto& v) { return rope(v["x"], RopeLayout::adjacent_pairs, 10000.0f, 5); });
    check_op(rope_case("half_split"), {"x"}, [](auto& v) { return rope(v["x"], RopeLayout::half_split, 10000.0f, 5); });
}

const std::vector<int64_t> kCeTargets{4, -1, 0, 2, 6, -1};
RefCase ce_case() {
    Rng rng(900);
    return {"cross_entropy", {{"kind", "cross_entropy"}, {"ignore_index", -1}},
            {{"x", random_tensor({6, 7}, rng, 2.0f)}, {"target", ids_tensor(kCeTargets)}}};
}
RefCase kd_case() {
    Rng rng(901);
    return {"kd_kl_div", {{"kind", "kd"}, {"T", 4.0}},
            {{"s", random_tensor({5, 9}, rng, 3.0f)}, {"t", random_tensor({5, 9}, rng, 3.0f)}}};
}
RegisterRefCase reg_ce(ce_case), reg_kd(kd_case);
TEST(NnTorch, CrossEntropyAndKd) {
    SKIP_WITHOUT_TORCH();
    {
        RefCase c = ce_case();
        Var x(c.input("x").clone(), true);
        Var y = cross_entropy(x, kCeTargets, -1);
        y.backward();
        nn_torch_ops_expect_close(c.name, "y", y.value());
        nn_torch_ops_expect_close(c.name, "gx", x.grad());
    }
    {
        RefCase c = kd_case();
        Var s(c.input("s").clone(), true);
        Var y = kd_kl_div(s, Var(c.input("t")), 4.0f);
        y.backward();
        nn_torch_ops_expect_close(c.name, "y", y.value());
        nn_torch_ops_expect_close(c.name, "gs", s.grad());
    }
}

}  // namespace
}  // namespace tern::nn
