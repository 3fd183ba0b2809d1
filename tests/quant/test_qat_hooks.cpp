// The QAT hooks without a training run: the first step starts every scale from
// data (input scales from calibration images, LSQ weight scales from the
// weights, signed grids where inputs go negative), a resumed run keeps its
// checkpoint's scales, and from freeze_bn_epoch on batch norm stops updating
// its running statistics while the rest of the model trains.
#include <gtest/gtest.h>

#include <limits>

#include "core/error.h"
#include "nn/data/image_dataset.h"
#include "nn/models/zoo.h"
#include "nn/modules/fake_quant.h"
#include "nn/modules/norm.h"
#include "nn/random.h"
#include "nn/train/recipe.h"
#include "nn/train/training_run.h"
#include "quant/qat_training.h"

namespace tern::quant {
namespace {

std::shared_ptr<data::ImageDataset> qat_hooks_random_images(int64_t n) {
    auto ds = std::make_shared<data::ImageDataset>();
    ds->images = Tensor::empty({n, 1, 28, 28});
    nn::Rng rng(3);
    for (int64_t i = 0; i < ds->images.numel(); ++i) ds->images.data<float>()[i] = rng.normal();
    ds->labels.assign(static_cast<size_t>(n), 0);
    ds->num_classes = 10;
    return ds;
}

nn::train::Recipe qat_recipe(int64_t freeze_bn_epoch) {
    nn::train::Recipe r;
    r.model = "lenet5_bn";
    r.batch_size = 8;
    r.has_qat = true;
    r.qat.calibration_batches = 2;
    r.qat.freeze_bn_epoch = freeze_bn_epoch;
    return r;
}

TEST(QatHooks, FirstStepCalibratesAndFreezeEpochStopsBatchNorm) {
    auto model = nn::models::make_model("lenet5_bn", 1, 1, 10);
    nn::attach_fake_quant(*model, nn::FakeQuantSpec{});
    auto opt = nn::train::make_optimizer(nn::train::OptimizerRecipe{}, model->parameters());
    QatCalibrator cal(qat_recipe(2), qat_hooks_random_images(16));
    auto hooks = cal.hooks();
    nn::train::StepContext c{*model, *opt};
    c.epoch = 1;
    c.global_step = 0;
    model->train();
    hooks.on_step_begin(c);
    const auto layers = nn::fake_quant_layers(*model);
    ASSERT_EQ(layers.size(), 5u);
    // The image input is signed (normal noise); conv2's follows a ReLU and pool.
    EXPECT_EQ(layers[0].second->act_signed.data<float>()[0], 1.0f);
    EXPECT_EQ(layers[1].second->act_signed.data<float>()[0], 0.0f);
    for (const auto& [name, q] : layers) {
        EXPECT_NE(q->act_scale.data()[0], 1.0f) << name;  // moved from the constructor's placeholder
        EXPECT_GT(q->act_scale.data()[0], 0.0f) << name;
        EXPECT_NE(q->weight_scale.data()[0], 1.0f) << name;
        EXPECT_FALSE(q->calibrating) << name;
    }
    EXPECT_TRUE(model->is_training());

    // Epoch 1 < freeze epoch 2: batch norm trains; epoch 2: it stops, the rest goes on.
    std::vector<nn::BatchNorm2d*> bns;
    nn::visit_modules(*model, [&](const std::string&, nn::Module& m) {
        if (auto* b = dynamic_cast<nn::BatchNorm2d*>(&m)) bns.push_back(b);
    });
    ASSERT_EQ(bns.size(), 2u);
    EXPECT_TRUE(bns[0]->is_training());
    c.epoch = 2;
    c.global_step = 5;
    layers[0].second->act_scale.data()[0] = 0.5f;
    hooks.on_step_begin(c);
    EXPECT_FALSE(bns[0]->is_training());
    EXPECT_FALSE(bns[1]->is_training());
    EXPECT_TRUE(model->is_training());
    EXPECT_EQ(layers[0].second->act_scale.data()[0], 0.5f);  // calibrated once only
}

// An optimizer step that overshoots a small learned scale (Adam at lr 1e-3
// against a 4-bit step of ~3e-4 did, in a W4A4 run) must not leave it <= 0:
// the step-end hook raises it to the floor and leaves the others alone.
TEST(QatHooks, StepEndKeepsLearnedScalesPositive) {
    auto model = nn::models::make_model("lenet5_bn", 1, 1, 10);
    nn::attach_fake_quant(*model, nn::FakeQuantSpec{});
    auto opt = nn::train::make_optimizer(nn::train::OptimizerRecipe{}, model->parameters());
    QatCalibrator cal(qat_recipe(0), qat_hooks_random_images(16));
    auto hooks = cal.hooks();
    ASSERT_TRUE(hooks.on_step_end);
    nn::train::StepContext c{*model, *opt};
    const auto layers = nn::fake_quant_layers(*model);
    float* w = layers[1].second->weight_scale.data();
    w[0] = -0.002f;
    w[1] = 0.0f;
    w[2] = 0.25f;
    layers[2].second->act_scale.data()[0] = -1.0f;
    hooks.on_step_end(c);
    EXPECT_EQ(w[0], nn::kMinLearnedScale);
    EXPECT_EQ(w[1], nn::kMinLearnedScale);
    EXPECT_EQ(w[2], 0.25f);
    EXPECT_EQ(layers[2].second->act_scale.data()[0], nn::kMinLearnedScale);
    EXPECT_NO_THROW(nn::check_fake_quant_scales(*model, "m"));
}

TEST(QatHooks, ResumedRunKeepsItsScales) {
    auto model = nn::models::make_model("lenet5_bn", 1, 1, 10);
    nn::attach_fake_quant(*model, nn::FakeQuantSpec{});
    auto opt = nn::train::make_optimizer(nn::train::OptimizerRecipe{}, model->parameters());
    QatCalibrator cal(qat_recipe(0), qat_hooks_random_images(16));
    nn::train::StepContext c{*model, *opt};
    c.epoch = 3;
    c.global_step = 40;  // a checkpoint's step: its scales were loaded with it
    const auto layers = nn::fake_quant_layers(*model);
    layers[2].second->act_scale.data()[0] = 0.25f;
    cal.hooks().on_step_begin(c);
    EXPECT_EQ(layers[2].second->act_scale.data()[0], 0.25f);
}

TEST(QatHooks, NanCalibrationInputsNameTheLayer) {
    auto model = nn::models::make_model("lenet5_bn", 1, 1, 10);
    nn::attach_fake_quant(*model, nn::FakeQuantSpec{});
    auto opt = nn::train::make_optimizer(nn::train::OptimizerRecipe{}, model->parameters());
    auto images = qat_hooks_random_images(16);
    images->images.data<float>()[100] = std::numeric_limits<float>::quiet_NaN();
    auto r = qat_recipe(0);
    r.source = "q.json";
    QatCalibrator cal(r, images);
    nn::train::StepContext c{*model, *opt};
    try {
        cal.hooks().on_step_begin(c);
        ADD_FAILURE() << "NaN calibration images accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("q.json: layer conv1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("calibration inputs of this layer hold NaN or Inf"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace tern::quant
