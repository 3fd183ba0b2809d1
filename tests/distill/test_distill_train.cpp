// Classifier distillation through the trainer (distill::ClassifierDistiller's
// hooks on nn::train::Trainer), on small slices of the Fashion-MNIST t10k file
// (loads fast): the teacher measurably pulls the student towards its own
// outputs (alpha 1 vs alpha 0 from the same seed and batches); the FitNets and
// attention terms enter the step loss; a distilled run resumed from its
// checkpoint (teacher reloaded from the recipe) ends with the same weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "distill/classifier_distill.h"
#include "distill/losses.h"
#include "io/io_test_util.h"
#include "nn/data/image_dataset.h"
#include "nn/train/checkpoint.h"
#include "nn/train/recipe.h"
#include "nn/train/trainer.h"
#include "ref/reference.h"
#include "data/fashion_mnist_test_util.h"

namespace tern::distill {
namespace {

using nn::train::Recipe;

const std::string kDistillTrainMobilenet = std::string(TERN_SOURCE_DIR) + "/models/fmnist-mobilenetv2_tiny.safetensors";

std::shared_ptr<const data::ImageDataset> distill_train_images() {
    static const auto d = std::make_shared<const data::ImageDataset>(nn::train::load_test_data("fashion-mnist"));
    return d;
}


Recipe distill_train_recipe(const std::string& distill, int64_t subset, int64_t validation, int64_t epochs = 1, int64_t batch = 50) {
    return nn::train::parse_recipe_json(
        R"({"model": "lenet5", "epochs": )" + std::to_string(epochs) + R"(, "batch_size": )" + std::to_string(batch) +
            R"(, "train_subset": )" +
            std::to_string(subset) + R"(, "validation": )" + std::to_string(validation) +
            R"(, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "grad_clip": 1},
            "schedule": {"name": "constant"}, "seed": 1, "distill": {"teacher": ")" + kDistillTrainMobilenet + "\"" + distill + "}}",
        "test.json");
}

// A trainer with the distillation hooks; `first_loss` (when set) gets step 1's loss.
struct Distilled {
    std::unique_ptr<nn::train::Trainer> trainer;
    std::unique_ptr<ClassifierDistiller> distiller;
    Distilled(const Recipe& r, double* first_loss = nullptr)
        : trainer(std::make_unique<nn::train::Trainer>(r, nn::train::split_train_data(r, distill_train_images()))),
          distiller(std::make_unique<ClassifierDistiller>(r, load_teacher(r))) {
        nn::train::TrainHooks h = distiller->hooks();
        if (first_loss) {
            auto inner = h.on_step_end;
            h.on_step_end = [inner, first_loss](nn::train::StepContext& c) {
                if (c.global_step == 0) *first_loss = c.loss;
                if (inner) inner(c);
            };
        }
        trainer->set_hooks(h);
    }
};

TEST(DistillTrain, TeacherPullsTheStudentTowardsItsOutputs) {
    REQUIRE_FASHION();
    const Recipe taught_r = distill_train_recipe(R"(, "alpha": 1, "temperature": 4)", 700, 200, 1, 20);
    const Recipe alone_r = distill_train_recipe(R"(, "alpha": 0)", 700, 200, 1, 20);
    Distilled taught(taught_r), alone(alone_r);
    taught.trainer->train_epoch();
    alone.trainer->train_epoch();
    // T^2 KL(teacher || student) at T 4 on the 200 held-out images.
    const auto val = nn::train::split_train_data(taught_r, distill_train_images()).validation;
    Tensor x = Tensor::empty({val->size(), 1, 28, 28});
    std::memcpy(x.data<float>(), val->image(0), static_cast<size_t>(val->size() * val->image_numel()) * sizeof(float));
    nn::NoGradGuard no_grad;
    auto teacher = load_teacher(taught_r).model;
    const nn::Var t = teacher->forward(nn::Var(x));
    auto kl = [&](Distilled& d) {
        d.trainer->model().eval();
        return soft_target_kd(d.trainer->model().forward(nn::Var(x)), t, 4).item();
    };
    const double kl_taught = kl(taught), kl_alone = kl(alone);
    std::printf("soft KL to the teacher: taught %.3f, alone %.3f\n", kl_taught, kl_alone);
    EXPECT_LT(kl_taught, 0.8 * kl_alone);
}

TEST(DistillTrain, FeatureTermsEnterTheStepLoss) {
    REQUIRE_FASHION();
    double kd = NAN, fitnets = NAN, attention = NAN;
    const std::string layers = R"(, "layers": [["pool1", "blocks.1"], ["conv1", "stem_bn"]])";
    Distilled(distill_train_recipe("", 150, 50), &kd).trainer->train_epoch();
    Distilled f(distill_train_recipe(R"(, "loss": "fitnets")" + layers, 150, 50), &fitnets);
    Distilled a(distill_train_recipe(R"(, "loss": "attention")" + layers, 150, 50), &attention);
    const auto fm = f.trainer->train_epoch();
    const auto am = a.trainer->train_epoch();
    // Same seed, same first batch, same initial student: the feature terms are added on top of KD.
    EXPECT_GT(fitnets, kd + 1e-3);
    EXPECT_GT(attention, kd + 1e-3);
    EXPECT_TRUE(std::isfinite(fm.train_loss) && std::isfinite(am.train_loss));
    EXPECT_TRUE(std::isfinite(fm.val_loss) && std::isfinite(am.val_loss));
}

TEST(DistillTrain, ResumedRunEndsWithTheSameWeights) {
    REQUIRE_FASHION();
    testio::TempDir dir;
    const Recipe r = distill_train_recipe(R"(, "alpha": 0.7, "temperature": 3)", 250, 50, 2);
    Distilled straight(r);
    straight.trainer->train_epoch();
    straight.trainer->train_epoch();
    const std::string checkpoint = dir.file("kd.resume.safetensors");
    {
        Distilled first(r);
        first.trainer->train_epoch();
        first.trainer->save_resume(checkpoint);
    }
    Distilled resumed(r);  // a new process: the teacher comes back from the recipe
    resumed.trainer->load_resume(checkpoint);
    resumed.trainer->train_epoch();
    const auto a = nn::train::module_state(straight.trainer->model());
    const auto b = nn::train::module_state(resumed.trainer->model());
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i].tensor.to_floats(), b[i].tensor.to_floats()) << a[i].name;
    EXPECT_EQ(straight.trainer->history().back().train_loss, resumed.trainer->history().back().train_loss);
}

}  // namespace
}  // namespace tern::distill
