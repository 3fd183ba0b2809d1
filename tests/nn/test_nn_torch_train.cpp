// One full training step of a small CNN and of a tiny transformer block, and
// optimizer trajectories, against PyTorch (tests/ref/nn_ref.py).
#include <cstdio>

#include "nn/modules/attention.h"
#include "nn/modules/conv.h"
#include "nn/modules/embedding.h"
#include "nn/modules/linear.h"
#include "nn/modules/mlp.h"
#include "nn/modules/norm.h"
#include "nn/modules/sequential.h"
#include "nn/modules/stateless.h"
#include "nn/optim/optimizer.h"
#include "nn_test_util.h"
#include "torch_ref.h"

namespace tern::nn {
namespace {

using test::random_tensor;
using test::RefCase;
using test::RegisterRefCase;
using test::torch_ref;

constexpr double kNnTorchTrainTol = 1e-4;

void nn_torch_train_expect_close(const std::string& c, const std::string& name, const Tensor& got) {
    const Tensor* want = torch_ref().find(c, name);
    ASSERT_NE(want, nullptr) << c << "/" << name << " missing from torch output";
    ASSERT_EQ(got.numel(), want->numel()) << c << "/" << name;
    const double e = test::rel_err(got.data<float>(), want->data<float>(), got.numel());
    std::printf("[torch] %-18s %-24s rel_err %.2e\n", c.c_str(), name.c_str(), e);
    EXPECT_LT(e, kNnTorchTrainTol) << c << "/" << name;
}

#define SKIP_WITHOUT_TORCH()                                                 \
    TERN_REQUIRE_REFERENCE(torch_ref().reference)

Tensor nn_torch_train_floats_of(const std::vector<int64_t>& v) {
    std::vector<float> f(v.begin(), v.end());
    return Tensor::from_floats({static_cast<int64_t>(v.size())}, f);
}

// --- CNN: conv(3->8, 3x3, pad 1) - bn - relu - maxpool 2 - flatten - linear(128 -> 10)
std::shared_ptr<Sequential> make_cnn() {
    auto net = std::make_shared<Sequential>();
    net->add(std::make_shared<Conv2d>(3, 8, Conv2dOptions{3, 1, 1, 1, 1, true}, 11))
        .add(std::make_shared<BatchNorm2d>(8))
        .add(std::make_shared<ReLU>())
        .add(std::make_shared<MaxPool2d>(2))
        .add(std::make_shared<Flatten>())
        .add(std::make_shared<Linear>(8 * 4 * 4, 10, true, 12));
    return net;
}
const std::vector<int64_t> kCnnTargets{3, 7, 0, 9, 1, 3};

RefCase cnn_case() {
    Rng rng(1000);
    RefCase c{"cnn_step", {}, {{"x", random_tensor({6, 3, 8, 8}, rng)}, {"target", nn_torch_train_floats_of(kCnnTargets)}}};
    auto net = make_cnn();
    for (auto& [n, v] : net->named_parameters()) c.inputs.emplace_back("param." + n, v.value());
    for (auto& [n, t] : net->named_buffers()) c.inputs.emplace_back("buf." + n, t.clone());
    return c;
}
RegisterRefCase reg_cnn(cnn_case);

TEST(NnTorchTrain, CnnStepMatchesTorch) {
    SKIP_WITHOUT_TORCH();
    RefCase c = cnn_case();
    auto net = make_cnn();
    Var loss = cross_entropy(net->forward(Var(c.input("x"))), kCnnTargets);
    loss.backward();
    nn_torch_train_expect_close(c.name, "loss", loss.value());
    for (auto& [n, v] : net->named_parameters()) {
        if (n != "0.bias") {
            nn_torch_train_expect_close(c.name, "grad." + n, v.grad());
            continue;
        }
        // A conv bias feeding batch norm has exactly zero true gradient (the
        // batch mean removes it); both sides hold only rounding noise, so a
        // relative comparison is meaningless. Check it is noise-sized instead.
        const Tensor& gw = net->named_parameters()[0].second.grad();
        float scale = 0;
        for (int64_t i = 0; i < gw.numel(); ++i) scale = std::max(scale, std::fabs(gw.data<float>()[i]));
        for (int64_t i = 0; i < v.numel(); ++i) EXPECT_LT(std::fabs(v.grad().data<float>()[i]), 1e-5f * scale);
    }
    auto& bn = dynamic_cast<BatchNorm2d&>((*net)[1]);
    nn_torch_train_expect_close(c.name, "running_mean", bn.running_mean);
    nn_torch_train_expect_close(c.name, "running_var", bn.running_var);
}

// --- tiny transformer LM: embed - [x + attn(rms(x))] - [x + swiglu(rms(x))] - rms - head
struct TinyLm : Module {
    static constexpr int64_t V = 13, D = 16, H = 4, HKV = 2, HID = 24;
    TinyLm() {
        emb = register_module("emb", std::make_shared<Embedding>(V, D, 21));
        norm1 = register_module("norm1", std::make_shared<RMSNorm>(D));
        AttentionOptions o;
        o.d_model = D, o.n_heads = H, o.n_kv_heads = HKV, o.rope_layout = RopeLayout::half_split;
        attn = register_module("attn", std::make_shared<MultiHeadAttention>(o, 22));
        norm2 = register_module("norm2", std::make_shared<RMSNorm>(D));
        mlp = register_module("mlp", std::make_shared<MLP>(D, HID, MlpKind::swiglu, false, 23));
        norm_f = register_module("norm_f", std::make_shared<RMSNorm>(D));
        head = register_module("head", std::make_shared<Linear>(D, V, false, 24));
    }
    Var forward(const std::vector<int64_t>& ids, int64_t B, int64_t T) {
        Var x = emb->forward(ids, {B, T});
        x = add(x, attn->forward(norm1->forward(x)));
        x = add(x, mlp->forward(norm2->forward(x)));
        return reshape(head->forward(norm_f->forward(x)), {B * T, V});
    }
    std::shared_ptr<Embedding> emb;
    std::shared_ptr<RMSNorm> norm1, norm2, norm_f;
    std::shared_ptr<MultiHeadAttention> attn;
    std::shared_ptr<MLP> mlp;
    std::shared_ptr<Linear> head;
};
const std::vector<int64_t> kLmIds{1, 5, 7, 2, 12, 0, 3, 3, 9, 4, 11, 6, 8, 2, 1, 10};
const std::vector<int64_t> kLmTargets{5, 7, 2, 12, 0, 3, 3, 9, 4, 11, 6, 8, 2, 1, 10, 1};

RefCase transformer_case() {
    RefCase c{"transformer_step",
              {{"B", 2}, {"T", 8}, {"n_heads", 4}, {"n_kv_heads", 2}, {"d_model", 16}, {"layout", "half_split"}},
              {{"ids", nn_torch_train_floats_of(kLmIds)}, {"target", nn_torch_train_floats_of(kLmTargets)}}};
    TinyLm lm;
    for (auto& [n, v] : lm.named_parameters()) c.inputs.emplace_back("param." + n, v.value());
    return c;
}
RegisterRefCase reg_lm(transformer_case);

TEST(NnTorchTrain, TransformerBlockStepMatchesTorch) {
    SKIP_WITHOUT_TORCH();
    RefCase c = transformer_case();
    TinyLm lm;
    Var loss = cross_entropy(lm.forward(kLmIds, 2, 8), kLmTargets);
    loss.backward();
    nn_torch_train_expect_close(c.name, "loss", loss.value());
    for (auto& [n, v] : lm.named_parameters()) nn_torch_train_expect_close(c.name, "grad." + n, v.grad());
}

// --- optimizers: 3 steps of mse(linear(x)) from the same start
RefCase optim_case(const std::string& kind, bool nesterov) {
    Rng rng(1100);
    nlohmann::json p = {{"steps", 3}};
    if (kind == "adamw")
        p.update({{"kind", "adamw"}, {"lr", 0.01}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"wd", 0.1}});
    else
        p.update({{"kind", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"wd", 0.01}, {"nesterov", nesterov}});
    return {"optim_" + kind + (nesterov ? "_nesterov" : ""), p,
            {{"w", random_tensor({4, 6}, rng)}, {"b", random_tensor({4}, rng)}, {"x", random_tensor({8, 6}, rng)},
             {"y", random_tensor({8, 4}, rng)}}};
}
RegisterRefCase reg_adamw([] { return optim_case("adamw", false); }),
    reg_sgd([] { return optim_case("sgd", false); }), reg_sgd_n([] { return optim_case("sgd", true); });

void run_optim(const RefCase& c, Optimizer& opt, Var& w, Var& b) {
    for (int s = 0; s < 3; ++s) {
        opt.zero_grad();
        mse_loss(linear(Var(c.input("x")), w, b), Var(c.input("y"))).backward();
        opt.step();
    }
    nn_torch_train_expect_close(c.name, "w", w.value());
    nn_torch_train_expect_close(c.name, "b", b.value());
}

TEST(NnTorchTrain, OptimizersMatchTorchAfterThreeSteps) {
    SKIP_WITHOUT_TORCH();
    {
        RefCase c = optim_case("adamw", false);
        Var w(c.input("w").clone(), true), b(c.input("b").clone(), true);
        AdamW opt({w, b}, AdamWOptions{0.01f, 0.9f, 0.999f, 1e-8f, 0.1f});
        run_optim(c, opt, w, b);
    }
    for (bool nesterov : {false, true}) {
        RefCase c = optim_case("sgd", nesterov);
        Var w(c.input("w").clone(), true), b(c.input("b").clone(), true);
        SGD opt({w, b}, SgdOptions{0.05f, 0.9f, 0.0f, 0.01f, nesterov});
        run_optim(c, opt, w, b);
    }
}

}  // namespace
}  // namespace tern::nn
