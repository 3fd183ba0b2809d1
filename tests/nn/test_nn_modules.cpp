// Modules, autograd mechanics, optimizers/schedules, and an end-to-end run.
#include <cmath>

#include "core/error.h"
#include "nn/modules/attention.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/modules/mlp.h"
#include "nn/modules/norm.h"
#include "nn/modules/sequential.h"
#include "nn/modules/stateless.h"
#include "nn/optim/lr_schedule.h"
#include "nn/optim/optimizer.h"
#include "nn_test_util.h"

namespace tern::nn {
namespace {

TEST(NnAutograd, AccumulatesUntilZeroGradAndRespectsNoGrad) {
    Var x(Tensor::from_floats({2}, std::vector<float>{1.0f, -2.0f}), true);
    for (int i = 0; i < 2; ++i) sum(mul(x, x)).backward();  // d/dx sum(x^2) = 2x, twice
    EXPECT_FLOAT_EQ(x.grad().data<float>()[0], 4.0f);
    EXPECT_FLOAT_EQ(x.grad().data<float>()[1], -8.0f);
    x.zero_grad();
    EXPECT_FLOAT_EQ(x.grad().data<float>()[0], 0.0f);
    {
        NoGradGuard g;
        Var y = mul(x, x);
        EXPECT_FALSE(y.requires_grad());
    }
    EXPECT_TRUE(mul(x, x).requires_grad());
    // A value reached through two paths gets both contributions.
    Var y = add(mul_scalar(x, 3.0f), mul(x, x));
    sum(y).backward();
    EXPECT_FLOAT_EQ(x.grad().data<float>()[0], 3.0f + 2.0f);
    EXPECT_THROW(Var(Tensor::zeros({2})).backward(), tern::Error);
}

TEST(NnModules, StableParameterNamesAndModes) {
    auto net = std::make_shared<Sequential>();
    net->add(std::make_shared<Conv2d>(3, 4, Conv2dOptions{}, 1))
        .add(std::make_shared<BatchNorm2d>(4))
        .add(std::make_shared<ReLU>())
        .add(std::make_shared<DepthwiseConv2d>(4, 3, 1, 1, false, 2));
    std::vector<std::string> names;
    for (auto& [n, v] : net->named_parameters()) names.push_back(n);
    EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "3.weight"}));
    EXPECT_EQ(net->named_buffers().size(), 2u);
    EXPECT_EQ(net->named_buffers()[0].first, "1.running_mean");
    net->eval();
    EXPECT_FALSE((*net)[1].is_training());
    net->train();
    EXPECT_TRUE((*net)[1].is_training());

    AttentionOptions o;
    o.d_model = 32, o.n_heads = 8, o.n_kv_heads = 2;
    MultiHeadAttention gqa(o, 5);
    EXPECT_EQ(gqa.wk->weight.dim(0), 8);  // 2 kv heads x head_dim 4
    Rng rng(3);
    Var y = gqa.forward(test::random_var({2, 5, 32}, rng));
    EXPECT_EQ(y.shape(), (Shape{2, 5, 32}));
    MLP gelu_mlp(8, 16, MlpKind::gelu, true, 9);
    EXPECT_EQ(gelu_mlp.named_parameters().size(), 4u);
    // Same seed, same weights.
    Linear a(5, 3, true, 77), b(5, 3, true, 77);
    for (int64_t i = 0; i < 15; ++i) EXPECT_EQ(a.weight.data()[i], b.weight.data()[i]);
}

TEST(NnModules, BatchNormEvalUsesRunningStats) {
    BatchNorm2d bn(2);
    Rng rng(4);
    Var x = test::random_var({4, 2, 3, 3}, rng);
    bn.forward(x);  // one training step moves running stats off (0, 1)
    bn.eval();
    Var y = bn.forward(x);
    const float m = bn.running_mean.data<float>()[0], v = bn.running_var.data<float>()[0];
    EXPECT_NEAR(y.data()[0], (x.data()[0] - m) / std::sqrt(v + 1e-5f), 1e-5f);
}

TEST(NnOptim, SchedulesAndClipping) {
    CosineSchedule cos{1.0f, 0.1f, 10, 110};
    EXPECT_FLOAT_EQ(cos.lr_at(0), 0.1f);
    EXPECT_FLOAT_EQ(cos.lr_at(9), 1.0f);
    EXPECT_NEAR(cos.lr_at(60), 0.55f, 1e-6f);
    EXPECT_FLOAT_EQ(cos.lr_at(110), 0.1f);
    StepSchedule st{0.5f, 5, 10, 0.1f};
    EXPECT_FLOAT_EQ(st.lr_at(2), 0.3f);
    EXPECT_FLOAT_EQ(st.lr_at(14), 0.5f);
    EXPECT_NEAR(st.lr_at(15), 0.05f, 1e-7f);
    Var p(Tensor::zeros({2}), true);
    p.grad_buffer().data<float>()[0] = 3.0f;
    p.grad_buffer().data<float>()[1] = 4.0f;
    EXPECT_FLOAT_EQ(clip_grad_norm({p}, 1.0f), 5.0f);
    EXPECT_NEAR(p.grad().data<float>()[0], 0.6f, 1e-5f);
}

// XOR-like data: label = sign(x0) xor sign(x1) on 2-D gaussian points.
TEST(NnEndToEnd, MlpLearnsXor) {
    Rng rng(2024);
    const int64_t n = 256;
    Tensor x = Tensor::empty({n, 2});
    std::vector<int64_t> y(n);
    for (int64_t i = 0; i < n; ++i) {
        const float a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
        x.data<float>()[2 * i] = a;
        x.data<float>()[2 * i + 1] = b;
        y[i] = (a > 0) != (b > 0);
    }
    Sequential net;
    net.add(std::make_shared<Linear>(2, 32, true, 1)).add(std::make_shared<Tanh>());
    net.add(std::make_shared<Linear>(32, 32, true, 2)).add(std::make_shared<Tanh>());
    net.add(std::make_shared<Linear>(32, 2, true, 3));
    AdamW opt(net.parameters(), AdamWOptions{0.01f, 0.9f, 0.999f, 1e-8f, 0.0f});
    CosineSchedule sched{0.02f, 0.001f, 20, 400};
    Var xv(x);
    float loss = 0;
    for (int step = 0; step < 400; ++step) {
        opt.set_lr(sched.lr_at(step));
        opt.zero_grad();
        Var l = cross_entropy(net.forward(xv), y);
        l.backward();
        clip_grad_norm(opt.params(), 5.0f);
        opt.step();
        loss = l.item();
    }
    NoGradGuard ng;
    Var logits = net.forward(xv);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) correct += (logits.data()[2 * i + 1] > logits.data()[2 * i]) == (y[i] == 1);
    EXPECT_GE(correct, n * 98 / 100) << "final loss " << loss;
}

}  // namespace
}  // namespace tern::nn
