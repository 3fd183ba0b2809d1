// nn::train's hooks (train_loop.h), where QAT, distillation and pruning plug
// into training: each is called once per step / epoch with the right step
// numbers, and a mask applied after backward holds through the optimizer
// step (pruned weights stay exactly zero), which it does not without the hook.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "nn/data/image_dataset.h"
#include "nn/train/trainer.h"
#include "ref/reference.h"

using namespace tern;
using namespace tern::nn;
using namespace tern::nn::train;

namespace {

Recipe hook_recipe() {
    return parse_recipe_json(R"({"model": "lenet300", "epochs": 2, "batch_size": 32, "train_subset": 320,
        "validation": 0, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true,
        "weight_decay": 0.0005}, "schedule": {"name": "cosine"}, "seed": 2})",
                             "hook-recipe");
}

// Every third weight of the first layer.
bool masked(int64_t i) { return i % 3 == 0; }

void zero_masked(float* p, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        if (masked(i)) p[i] = 0;
}

}  // namespace

TEST(TrainHooks, CalledOncePerStepAndEpochAndAMaskAfterBackwardHolds) {
    if (!std::filesystem::exists(data::default_fashion_mnist_dir() + "/train-images-idx3-ubyte.gz"))
        TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)";
    const Recipe r = hook_recipe();
    const auto full = std::make_shared<const data::ImageDataset>(data::load_fashion_mnist("train"));
    const TrainData d = split_train_data(r, full);

    Trainer pruned(r, d);
    ASSERT_EQ(pruned.batches_per_epoch(), 10);
    int begins = 0, backwards = 0, ends = 0, epochs = 0;
    std::vector<int64_t> global_steps;
    TrainHooks hooks;
    hooks.on_step_begin = [&](StepContext& c) {
        ++begins;
        EXPECT_TRUE(std::isnan(c.loss)) << "no loss before the forward";
        global_steps.push_back(c.global_step);
    };
    hooks.after_backward = [&](StepContext& c) {
        ++backwards;
        EXPECT_TRUE(std::isfinite(c.loss));
        Var w = c.model.named_parameters().front().second;
        zero_masked(w.data(), w.numel());
        zero_masked(w.grad_buffer().data<float>(), w.numel());
    };
    hooks.on_step_end = [&](StepContext& c) {
        ++ends;
        EXPECT_EQ(c.step, (ends - 1) % 10 + 1);
        EXPECT_EQ(c.steps, 10);
    };
    hooks.on_epoch_end = [&](Module&, Optimizer&, const EpochTotals& t) {
        ++epochs;
        EXPECT_EQ(t.epoch, epochs);
        EXPECT_EQ(t.steps, 10);
        EXPECT_EQ(t.samples, 320);
    };
    pruned.set_hooks(hooks);
    while (!pruned.finished()) pruned.train_epoch();
    EXPECT_EQ(begins, 20);
    EXPECT_EQ(backwards, 20);
    EXPECT_EQ(ends, 20);
    EXPECT_EQ(epochs, 2);
    for (int64_t s = 0; s < 20; ++s) EXPECT_EQ(global_steps[static_cast<size_t>(s)], s);

    Trainer dense(r, d);
    while (!dense.finished()) dense.train_epoch();
    const auto [name, wp] = pruned.model().named_parameters().front();
    const Var wd = dense.model().named_parameters().front().second;
    int64_t masked_zero = 0, masked_dense_nonzero = 0, kept_nonzero = 0;
    for (int64_t i = 0; i < wp.numel(); ++i) {
        if (masked(i)) {
            masked_zero += wp.data()[i] == 0.0f;
            masked_dense_nonzero += wd.data()[i] != 0.0f;
        } else {
            kept_nonzero += wp.data()[i] != 0.0f;
        }
    }
    const int64_t n_masked = (wp.numel() + 2) / 3;
    EXPECT_EQ(masked_zero, n_masked) << name << ": every masked weight stays zero through the optimizer";
    EXPECT_EQ(masked_dense_nonzero, n_masked) << "without the hook they train";
    EXPECT_EQ(kept_nonzero, wp.numel() - n_masked);
}
