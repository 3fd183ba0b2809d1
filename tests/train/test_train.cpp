// Training on a small Fashion-MNIST subset: accuracy after one epoch,
// determinism, checkpoint round trips and exact resume.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "nn/data/image_dataset.h"
#include "nn/models/zoo.h"
#include "nn/ops.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"
#include "ref/reference.h"
#include "data/fashion_mnist_test_util.h"

using namespace tern;
using namespace tern::nn;
using namespace tern::nn::train;

namespace {


Recipe small_recipe(const std::string& model, int64_t subset, int64_t validation, int64_t epochs) {
    return parse_recipe_json(R"({"model": ")" + model + R"(", "epochs": )" + std::to_string(epochs) +
                                 R"(, "batch_size": 32, "train_subset": )" + std::to_string(subset) +
                                 R"(, "validation": )" + std::to_string(validation) + R"(,
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 0.0005},
        "schedule": {"name": "cosine", "warmup_epochs": 0.2}, "augment": {"crop_pad": 2, "flip": true}, "seed": 3})",
                             "test-recipe");
}

// The data of small_recipe(), loaded once per (subset, validation).
const TrainData& small_data(int64_t subset, int64_t validation) {
    static const auto full = std::make_shared<const data::ImageDataset>(data::load_fashion_mnist("train"));
    static std::map<std::pair<int64_t, int64_t>, TrainData> cache;
    auto& d = cache[{subset, validation}];
    if (!d.train) d = split_train_data(small_recipe("lenet300", subset, validation, 1), full);
    return d;
}

std::vector<float> flat_weights(const Module& m) {
    std::vector<float> out;
    for (const auto& [name, v] : m.named_parameters()) out.insert(out.end(), v.data(), v.data() + v.numel());
    for (const auto& [name, t] : m.named_buffers()) out.insert(out.end(), t.data<float>(), t.data<float>() + t.numel());
    return out;
}

std::string train_temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("tern-train-test-" + std::to_string(::getpid()) + "-" + name)).string();
}

}  // namespace

TEST(Zoo, ModelsBuildAndGiveLogits) {
    for (const auto& info : models::model_list()) {
        auto m = models::make_model(info.name, 1);
        Var y = m->forward(Var(Tensor::zeros({2, 1, 28, 28})));
        ASSERT_EQ(y.shape(), (Shape{2, 10})) << info.name;
        EXPECT_GT(m->parameter_count(), 10000) << info.name;
    }
    EXPECT_EQ(models::make_model("lenet300", 1)->parameter_count(), 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10);
    EXPECT_EQ(models::make_model("lenet5", 1)->parameter_count(), 61706);
    EXPECT_THROW(models::make_model("nope", 1), InputError);
    // Same seed, same weights; names are stable dotted paths.
    EXPECT_EQ(flat_weights(*models::make_model("lenet5_bn", 4)), flat_weights(*models::make_model("lenet5_bn", 4)));
    EXPECT_EQ(models::make_model("lenet5", 1)->named_parameters().front().first, "conv1.weight");
}

TEST(Train, OneEpochOnTwoThousandImagesLearnsDeterministically) {
    REQUIRE_FASHION();
    Recipe r = small_recipe("lenet300", 2500, 500, 1);
    r.augment = {};
    const TrainData& d = small_data(2500, 500);
    ASSERT_EQ(d.train->size(), 2000);
    Trainer a(r, d), b(r, d);
    const EpochMetrics ma = a.train_epoch();
    const EpochMetrics mb = b.train_epoch();
    EXPECT_GT(ma.val_accuracy, 0.60) << "validation accuracy after one epoch on 2,000 images";
    EXPECT_EQ(ma.train_loss, mb.train_loss);
    EXPECT_EQ(ma.val_accuracy, mb.val_accuracy);
    EXPECT_EQ(flat_weights(a.model()), flat_weights(b.model()));
}

TEST(Train, CheckpointSaveLoadGivesIdenticalEval) {
    REQUIRE_FASHION();
    const Recipe r = small_recipe("lenet5_bn", 400, 100, 1);
    const TrainData& d = small_data(400, 100);
    Trainer t(r, d);
    t.train_epoch();
    const EvalResult before = evaluate(t.model(), *d.validation);
    const std::string path = train_temp_path("ckpt.safetensors");
    save_classifier(path, t.model(), {{"tern.model", "lenet5_bn"}});
    const ClassifierFile c = load_classifier(path);
    const EvalResult after = evaluate(*c.model, *d.validation);
    EXPECT_EQ(c.model_name, "lenet5_bn");
    EXPECT_EQ(before.loss, after.loss);
    EXPECT_EQ(before.accuracy, after.accuracy);
    EXPECT_EQ(flat_weights(t.model()), flat_weights(*c.model));  // running statistics included

    // Weights that do not fit the named model are refused, naming the file.
    save_classifier(path, t.model(), {{"tern.model", "lenet5"}});  // lenet5_bn weights: BN tensors are extra
    try {
        load_classifier(path);
        ADD_FAILURE() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("does not fit"), std::string::npos) << e.what();
    }
    save_classifier(path, *models::make_model("lenet300", 1), {{"tern.model", "lenet5"}});
    EXPECT_THROW(load_classifier(path), InputError);
    std::filesystem::remove(path);
}

TEST(Train, ResumeContinuesExactlyAsAnUninterruptedRun) {
    REQUIRE_FASHION();
    for (const char* opt : {"sgd", "adamw"}) {
        // lenet5_bn exercises buffers (running statistics); lenet300 keeps the AdamW run cheap.
        Recipe r = small_recipe(std::string(opt) == "sgd" ? "lenet5_bn" : "lenet300", 400, 100, 2);
        if (std::string(opt) == "adamw") {
            r.optimizer = OptimizerRecipe{};
            r.optimizer.name = "adamw";
            r.optimizer.lr = 0.002f;
            r.optimizer.weight_decay = 0.01f;
        }
        const TrainData& d = small_data(400, 100);
        Trainer straight(r, d);
        straight.train_epoch();
        straight.train_epoch();

        Trainer first(r, d);
        first.train_epoch();
        const std::string path = train_temp_path(std::string(opt) + ".resume.safetensors");
        first.save_resume(path);
        Trainer resumed(r, d);
        resumed.load_resume(path);
        EXPECT_EQ(resumed.epochs_done(), 1);
        resumed.train_epoch();
        EXPECT_EQ(flat_weights(straight.model()), flat_weights(resumed.model())) << opt;
        EXPECT_EQ(straight.history().back().val_loss, resumed.history().back().val_loss) << opt;
        EXPECT_EQ(resumed.history().size(), 2u);

        // A checkpoint of another model is refused, naming the file.
        Trainer other(small_recipe(std::string(opt) == "sgd" ? "lenet300" : "lenet5", 400, 100, 2), d);
        try {
            other.load_resume(path);
            ADD_FAILURE() << "expected InputError";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
        // So is one trained with other settings (a longer run is fine).
        Recipe changed = r;
        changed.optimizer.lr *= 2;
        Trainer mismatched(changed, d);
        EXPECT_THROW(mismatched.load_resume(path), InputError);
        Recipe longer = r;
        longer.epochs = 5;
        Trainer extended(longer, d);
        EXPECT_NO_THROW(extended.load_resume(path));
        std::filesystem::remove(path);
    }
}

TEST(Train, HistoryCsvHasOneRowPerEpoch) {
    std::vector<EpochMetrics> h(2);
    h[0].epoch = 1, h[1].epoch = 2;
    h[1].val_loss = h[1].val_accuracy = std::numeric_limits<double>::quiet_NaN();
    const std::string csv = history_csv(h);
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
    EXPECT_EQ(csv.rfind("epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n", 0), 0u);
    const auto back = history_from_json(history_json(h));
    ASSERT_EQ(back.size(), 2u);
    EXPECT_TRUE(std::isnan(back[1].val_loss));
}
