// Every op's backward against central finite differences (fp32).
#include "nn/ops.h"
#include "nn_test_util.h"

namespace tern::nn {
namespace {

using test::expect_grads_match_fd;
using test::random_var;

// Values kept away from 0 so kinks (relu, max) are not straddled by +-h.
Var away_from_zero(const Shape& s, Rng& rng) {
    Var v = random_var(s, rng);
    for (int64_t i = 0; i < v.numel(); ++i) {
        float& x = v.data()[i];
        x = x >= 0 ? x + 0.1f : x - 0.1f;
    }
    return v;
}

// Distinct values 0.05 apart in random order: no max-pool window holds two
// values within the finite-difference step of each other.
Var distinct_values(const Shape& s, Rng& rng) {
    Var v(Tensor::empty(s), true);
    const int64_t n = v.numel();
    std::vector<int64_t> perm(n);
    for (int64_t i = 0; i < n; ++i) perm[i] = i;
    for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
    for (int64_t i = 0; i < n; ++i) v.data()[i] = 0.05f * static_cast<float>(perm[i] - n / 2);
    return v;
}

TEST(NnGrad, Arithmetic) {
    Rng rng(1);
    expect_grads_match_fd("add bcast", [](auto& in) { return add(in[0], in[1]); },
                          {random_var({2, 3, 4}, rng), random_var({4}, rng)});
    expect_grads_match_fd("sub bcast", [](auto& in) { return sub(in[0], in[1]); },
                          {random_var({2, 3, 4}, rng), random_var({3, 1}, rng)});
    expect_grads_match_fd("mul bcast", [](auto& in) { return mul(in[0], in[1]); },
                          {random_var({2, 3, 4}, rng), random_var({2, 1, 4}, rng)});
    expect_grads_match_fd("mul self", [](auto& in) { return mul(in[0], in[0]); }, {random_var({5}, rng)});
    expect_grads_match_fd("scalar", [](auto& in) { return add_scalar(mul_scalar(in[0], 3.0f), 1.0f); },
                          {random_var({6}, rng)});
    expect_grads_match_fd("mean", [](auto& in) { return mean(in[0]); }, {random_var({3, 5}, rng)});
}

TEST(NnGrad, Shape) {
    Rng rng(2);
    expect_grads_match_fd("reshape", [](auto& in) { return reshape(in[0], {4, -1}); }, {random_var({2, 3, 4}, rng)});
    expect_grads_match_fd("transpose", [](auto& in) { return transpose(in[0], 0, 2); }, {random_var({2, 3, 4}, rng)});
    expect_grads_match_fd("concat", [](auto& in) { return concat({in[0], in[1]}, 1); },
                          {random_var({2, 3, 4}, rng), random_var({2, 2, 4}, rng)});
    expect_grads_match_fd("slice", [](auto& in) { return slice(in[0], 2, 1, 3); }, {random_var({2, 3, 4}, rng)});
}

TEST(NnGrad, Linear) {
    Rng rng(3);
    expect_grads_match_fd("linear", [](auto& in) { return linear(in[0], in[1], in[2]); },
                          {random_var({2, 3, 5}, rng), random_var({4, 5}, rng), random_var({4}, rng)});
    expect_grads_match_fd("matmul 2d", [](auto& in) { return matmul(in[0], in[1]); },
                          {random_var({2, 3, 5}, rng), random_var({5, 4}, rng)});
    expect_grads_match_fd("matmul batched", [](auto& in) { return matmul(in[0], in[1]); },
                          {random_var({2, 3, 5}, rng), random_var({2, 5, 4}, rng)});
}

TEST(NnGrad, Conv) {
    Rng rng(4);
    Conv2dParams p;
    p.stride_h = p.stride_w = 2;
    p.pad_h = p.pad_w = 1;
    expect_grads_match_fd("conv s2p1", [&](auto& in) { return conv2d(in[0], in[1], in[2], p); },
                          {random_var({2, 3, 7, 6}, rng), random_var({4, 3, 3, 3}, rng), random_var({4}, rng)});
    Conv2dParams g = p;
    g.groups = 2;
    g.stride_h = 1;
    g.dilation_w = 2;
    expect_grads_match_fd("conv groups2 dil", [&](auto& in) { return conv2d(in[0], in[1], in[2], g); },
                          {random_var({2, 4, 6, 7}, rng), random_var({6, 2, 3, 3}, rng), random_var({6}, rng)});
    Conv2dParams dw = p;
    dw.groups = 3;
    dw.dilation_h = dw.dilation_w = 2;
    expect_grads_match_fd("depthwise", [&](auto& in) { return conv2d(in[0], in[1], in[2], dw); },
                          {random_var({2, 3, 8, 7}, rng), random_var({6, 1, 3, 3}, rng), random_var({6}, rng)});
    expect_grads_match_fd("conv 1x1", [&](auto& in) { return conv2d(in[0], in[1], Var(), Conv2dParams{}); },
                          {random_var({2, 3, 4, 5}, rng), random_var({5, 3, 1, 1}, rng)});
    // The direct small-channel path (stride 1) and the depthwise 3x3 kernels.
    Conv2dParams direct;
    direct.pad_h = 2, direct.pad_w = 1;
    expect_grads_match_fd("conv direct", [&](auto& in) { return conv2d(in[0], in[1], in[2], direct); },
                          {random_var({2, 2, 6, 7}, rng), random_var({3, 2, 4, 3}, rng), random_var({3}, rng)});
    for (int64_t s : {1, 2}) {
        Conv2dParams dw3;
        dw3.stride_h = dw3.stride_w = s;
        dw3.pad_h = dw3.pad_w = 1;
        dw3.groups = 3;
        expect_grads_match_fd("depthwise 3x3", [&](auto& in) { return conv2d(in[0], in[1], in[2], dw3); },
                              {random_var({2, 3, 7, 6}, rng), random_var({3, 1, 3, 3}, rng), random_var({3}, rng)});
    }
}

TEST(NnGrad, Pool) {
    Rng rng(5);
    Pool2dParams p{3, 3, 2, 2, 1, 1};
    expect_grads_match_fd("maxpool", [&](auto& in) { return max_pool2d(in[0], p); },
                          {distinct_values({2, 2, 7, 6}, rng)});
    const Pool2dParams p2{2, 2, 2, 2, 0, 0};
    expect_grads_match_fd("maxpool 2x2", [&](auto& in) { return max_pool2d(in[0], p2); },
                          {distinct_values({2, 2, 7, 6}, rng)});
    expect_grads_match_fd("avgpool", [&](auto& in) { return avg_pool2d(in[0], p); }, {random_var({2, 2, 7, 6}, rng)});
    expect_grads_match_fd("gap", [](auto& in) { return global_avg_pool2d(in[0]); }, {random_var({2, 3, 4, 5}, rng)});
}

TEST(NnGrad, Norm) {
    Rng rng(6);
    Tensor rm = Tensor::zeros({3}), rv = Tensor::zeros({3});
    expect_grads_match_fd("batchnorm train", [&](auto& in) { return batch_norm(in[0], in[1], in[2], rm, rv, true); },
                          {random_var({4, 3, 3, 2}, rng), random_var({3}, rng), random_var({3}, rng)});
    Tensor em = Tensor::from_floats({3}, std::vector<float>{0.1f, -0.2f, 0.3f});
    Tensor ev = Tensor::from_floats({3}, std::vector<float>{1.5f, 0.7f, 2.0f});
    expect_grads_match_fd("batchnorm eval", [&](auto& in) { return batch_norm(in[0], in[1], in[2], em, ev, false); },
                          {random_var({4, 3, 3, 2}, rng), random_var({3}, rng), random_var({3}, rng)});
    expect_grads_match_fd("layernorm", [](auto& in) { return layer_norm(in[0], in[1], in[2]); },
                          {random_var({3, 4, 8}, rng), random_var({8}, rng), random_var({8}, rng)});
    expect_grads_match_fd("rmsnorm", [](auto& in) { return rms_norm(in[0], in[1]); },
                          {random_var({3, 4, 8}, rng), random_var({8}, rng)});
}

TEST(NnGrad, Activations) {
    Rng rng(7);
    expect_grads_match_fd("relu", [](auto& in) { return relu(in[0]); }, {away_from_zero({40}, rng)});
    expect_grads_match_fd("gelu", [](auto& in) { return gelu_tanh(in[0]); }, {random_var({40}, rng, 2.0f)});
    expect_grads_match_fd("silu", [](auto& in) { return silu(in[0]); }, {random_var({40}, rng, 2.0f)});
    expect_grads_match_fd("sigmoid", [](auto& in) { return sigmoid(in[0]); }, {random_var({40}, rng, 2.0f)});
    expect_grads_match_fd("tanh", [](auto& in) { return tanh(in[0]); }, {random_var({40}, rng)});
    expect_grads_match_fd("dropout", [](auto& in) { return dropout(in[0], 0.3f, true, 99); },
                          {random_var({64}, rng)});
    expect_grads_match_fd("softmax", [](auto& in) { return softmax(in[0]); }, {random_var({3, 7}, rng)});
    expect_grads_match_fd("log_softmax", [](auto& in) { return log_softmax(in[0]); }, {random_var({3, 7}, rng)});
}

TEST(NnGrad, EmbeddingAttentionRope) {
    Rng rng(8);
    const std::vector<int64_t> ids{3, 1, 3, 0, 4, 1};
    expect_grads_match_fd("embedding", [&](auto& in) { return embedding(in[0], ids, {2, 3}); },
                          {random_var({5, 4}, rng)});
    expect_grads_match_fd("attention gqa", [](auto& in) { return causal_attention(in[0], in[1], in[2]); },
                          {random_var({2, 5, 4, 3}, rng), random_var({2, 5, 2, 3}, rng), random_var({2, 5, 2, 3}, rng)});
    expect_grads_match_fd("attention mqa", [](auto& in) { return causal_attention(in[0], in[1], in[2], 0.7f); },
                          {random_var({1, 4, 3, 4}, rng), random_var({1, 4, 1, 4}, rng), random_var({1, 4, 1, 4}, rng)});
    expect_grads_match_fd("rope pairs", [](auto& in) { return rope(in[0], RopeLayout::adjacent_pairs, 100.0f, 3); },
                          {random_var({2, 3, 2, 6}, rng)});
    expect_grads_match_fd("rope half", [](auto& in) { return rope(in[0], RopeLayout::half_split); },
                          {random_var({2, 3, 2, 6}, rng)});
}

TEST(NnGrad, Losses) {
    Rng rng(9);
    const std::vector<int64_t> t{2, -100, 0, 4};
    expect_grads_match_fd("cross_entropy", [&](auto& in) { return cross_entropy(in[0], t); },
                          {random_var({4, 5}, rng)});
    expect_grads_match_fd("mse", [](auto& in) { return mse_loss(in[0], in[1]); },
                          {random_var({3, 4}, rng), random_var({3, 4}, rng)});
    Var teacher = random_var({4, 5}, rng, 2.0f, false);
    expect_grads_match_fd("kd", [&](auto& in) { return kd_kl_div(in[0], teacher, 3.0f); },
                          {random_var({4, 5}, rng, 2.0f)});
}

}  // namespace
}  // namespace tern::nn
