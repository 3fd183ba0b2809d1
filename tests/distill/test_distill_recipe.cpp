// The recipe's "distill" section (strict: every bad value one InputError naming
// the file and key), its round trip through recipe_to_json (what checkpoints
// record), and the zoo models' tapped forward the feature losses rely on.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "distill/classifier_distill.h"
#include "distill/features.h"
#include "nn/models/zoo.h"
#include "nn/nn_test_util.h"
#include "nn/train/recipe.h"

namespace tern::distill {
namespace {

using nn::train::parse_recipe_json;
using nn::train::Recipe;

std::string with_distill(const std::string& distill, const std::string& extra = "") {
    return R"({"model": "lenet5", "epochs": 2, "batch_size": 64, "optimizer": {"name": "sgd", "lr": 0.01}, )" + extra +
           R"("distill": )" + distill + "}";
}

TEST(DistillRecipe, ParsesAndRoundTrips) {
    const Recipe r = parse_recipe_json(
        with_distill(R"({"teacher": "t.safetensors", "loss": "fitnets", "temperature": 3, "alpha": 0.5,
                         "feature_weight": 2, "layers": [["pool1", "blocks.1"], ["conv1", "stem"]]})"),
        "r.json");
    ASSERT_TRUE(r.has_distill);
    EXPECT_EQ(r.distill.teacher, "t.safetensors");
    EXPECT_EQ(r.distill.loss, "fitnets");
    EXPECT_EQ(r.distill.temperature, 3.0f);
    EXPECT_EQ(r.distill.alpha, 0.5f);
    EXPECT_EQ(r.distill.feature_weight, 2.0f);
    ASSERT_EQ(r.distill.layers.size(), 2u);
    EXPECT_EQ(r.distill.layers[0].first, "pool1");
    EXPECT_EQ(r.distill.layers[0].second, "blocks.1");
    const Recipe again = parse_recipe_json(nn::train::recipe_to_json(r).dump(), "again");
    EXPECT_EQ(nn::train::recipe_to_json(again), nn::train::recipe_to_json(r));

    const Recipe kd = parse_recipe_json(with_distill(R"({"teacher": "t.safetensors"})"), "r.json");
    EXPECT_EQ(kd.distill.loss, "kd");
    EXPECT_EQ(kd.distill.temperature, 4.0f);
    EXPECT_EQ(kd.distill.alpha, 0.9f);
    const Recipe at =
        parse_recipe_json(with_distill(R"({"teacher": "t", "loss": "attention", "layers": [["pool1", "blocks.1"]]})"), "r");
    EXPECT_EQ(at.distill.feature_weight, 1000.0f);
}

TEST(DistillRecipe, HostileSectionsAreOneClearError) {
    const struct {
        std::string distill, extra, error;
    } cases[] = {
        {R"({})", "", "key 'distill.teacher': missing (required)"},
        {R"({"teacher": ""})", "", "key 'distill.teacher': must name a classifier file"},
        {R"({"teacher": 3})", "", "key 'distill.teacher': must be a string"},
        {R"({"teacher": "t", "loss": "mse"})", "", "key 'distill.loss': 'mse' is not one of: kd, fitnets, attention"},
        {R"({"teacher": "t", "alpha": 1.5})", "", "key 'distill.alpha': must be in [0, 1], got 1.5"},
        {R"({"teacher": "t", "temperature": 0})", "", "key 'distill.temperature': must be in [0.001, 1000], got 0"},
        {R"({"teacher": "t", "temperature": "4"})", "", "key 'distill.temperature': must be a number"},
        {R"({"teacher": "t", "teacher_model": "resnet"})", "", "key 'distill.teacher_model': unknown model 'resnet'"},
        {R"({"teacher": "t", "layers": [["a", "b"]]})", "", "key 'distill.layers': only for loss 'fitnets' or 'attention'"},
        {R"({"teacher": "t", "loss": "fitnets"})", "", "key 'distill.layers': missing (required)"},
        {R"({"teacher": "t", "loss": "fitnets", "layers": []})", "", "key 'distill.layers': must be a non-empty array"},
        {R"({"teacher": "t", "loss": "fitnets", "layers": [["a"]]})", "", "key 'distill.layers': must be a non-empty"},
        {R"({"teacher": "t", "loss": "fitnets", "layers": [["a", 1]]})", "", "key 'distill.layers': must be a non-empty"},
        {R"({"teacher": "t", "loss": "fitnets", "layers": [["", "b"]]})", "", "key 'distill.layers': must be a non-empty"},
        {R"({"teacher": "t", "feature_weight": 2})", "", "key 'distill.feature_weight': unknown key"},
        {R"({"teacher": "t", "temprature": 2})", "", "key 'distill.temprature': unknown key"},
        {R"("t.safetensors")", "", "key 'distill': must be an object"},
    };
    for (const auto& c : cases) {
        try {
            parse_recipe_json(with_distill(c.distill, c.extra), "bad.json");
            ADD_FAILURE() << c.distill << " parsed";
        } catch (const InputError& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("bad.json"), std::string::npos) << m;
            EXPECT_NE(m.find(c.error), std::string::npos) << c.distill << " -> " << m;
        }
    }
    // Language models: the LM trainer takes no distill section (yet).
    try {
        parse_recipe_json(R"({"model": "llama", "data": "text", "epochs": 1, "batch_size": 2,
            "optimizer": {"name": "adamw", "lr": 0.001}, "distill": {"teacher": "t"}})",
                          "lm.json");
        ADD_FAILURE() << "LM distill parsed";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("key 'distill': only for classifiers"), std::string::npos) << e.what();
    }
}

// The recipes bench/distill_lenet5.sh and the born-again example use, with their teachers.
TEST(DistillRecipe, CommittedRecipesParseAndTheirTeachersLoad) {
    const struct {
        const char* name;
        const char* teacher_model;
    } recipes[] = {{"fmnist-lenet5-distill", "mobilenetv2_tiny"}, {"fmnist-lenet5-born-again", "lenet5"}};
    for (const auto& c : recipes) {
        Recipe r = nn::train::load_recipe(std::string(TERN_SOURCE_DIR) + "/models/recipes/" + c.name + ".json");
        EXPECT_EQ(r.output, std::string("models/") + c.name + ".safetensors");
        ASSERT_TRUE(r.has_distill) << c.name;
        r.distill.teacher = std::string(TERN_SOURCE_DIR) + "/" + r.distill.teacher;
        const Teacher t = load_teacher(r);
        EXPECT_EQ(t.model_name, c.teacher_model);
        EXPECT_GT(t.test_accuracy, 0.85) << c.name;
    }
}

// The replayed forward must be the model's forward, or the features belong to another network.
TEST(DistillFeatures, TappedForwardIsTheModelsForward) {
    nn::Rng rng(11);
    const nn::Var x(nn::test::random_tensor({2, 1, 28, 28}, rng));
    for (const char* name : {"lenet300", "lenet5", "lenet5_bn", "mobilenetv2_tiny"}) {
        auto m = nn::models::make_model(name, 3);
        m->eval();
        nn::NoGradGuard no_grad;
        const std::vector<std::string> points = feature_points(*m);
        ASSERT_FALSE(points.empty()) << name;
        const TappedForward t = forward_with_features(*m, x, points);
        const nn::Var y = m->forward(x);
        ASSERT_EQ(t.logits.shape(), y.shape()) << name;
        for (int64_t i = 0; i < y.numel(); ++i) ASSERT_EQ(t.logits.data()[i], y.data()[i]) << name;
        ASSERT_EQ(t.features.size(), points.size());
        // The last point is the classifier's output: the logits themselves.
        EXPECT_TRUE(t.features.back().same_node(t.logits)) << name;
    }
    auto lenet5 = nn::models::make_model("lenet5", 3);
    const TappedForward t = forward_with_features(*lenet5, x, {"pool1", "conv2"});
    EXPECT_EQ(t.features[0].shape(), (Shape{2, 6, 14, 14}));
    EXPECT_EQ(t.features[1].shape(), (Shape{2, 16, 10, 10}));
    try {
        forward_with_features(*lenet5, x, {"blocks.1"}, "r.json");
        FAIL() << "unknown point accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("no point 'blocks.1' in the model (known: conv1, pool1, conv2, pool2"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace tern::distill
