// Recipe parsing: every documented key, defaults, and errors that name the
// file and the key.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "nn/train/recipe.h"

using namespace tern;
using namespace tern::nn::train;

namespace {

const char* kGood = R"({
  "model": "lenet5", "data": "fashion-mnist", "epochs": 12, "batch_size": 32,
  "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": true, "weight_decay": 0.0005},
  "schedule": {"name": "cosine", "warmup_epochs": 1.5, "min_lr": 0.001},
  "augment": {"crop_pad": 2, "flip": true},
  "validation": 5000, "seed": 7, "output": "models/x.safetensors"
})";

// The InputError message for `text`, or "" when it parses.
std::string recipe_error_of(const std::string& text) {
    try {
        parse_recipe_json(text, "r.json");
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

std::string with(const std::string& from, const std::string& to) {
    std::string s = kGood;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
}

}  // namespace

TEST(Recipe, ParsesEveryKey) {
    const Recipe r = parse_recipe_json(kGood, "r.json");
    EXPECT_EQ(r.model, "lenet5");
    EXPECT_EQ(r.epochs, 12);
    EXPECT_EQ(r.batch_size, 32);
    EXPECT_EQ(r.optimizer.name, "sgd");
    EXPECT_FLOAT_EQ(r.optimizer.lr, 0.05f);
    EXPECT_FLOAT_EQ(r.optimizer.momentum, 0.8f);
    EXPECT_TRUE(r.optimizer.nesterov);
    EXPECT_FLOAT_EQ(r.optimizer.weight_decay, 0.0005f);
    EXPECT_EQ(r.schedule.name, "cosine");
    EXPECT_DOUBLE_EQ(r.schedule.warmup_epochs, 1.5);
    EXPECT_FLOAT_EQ(r.schedule.min_lr, 0.001f);
    EXPECT_EQ(r.augment.crop_pad, 2);
    EXPECT_TRUE(r.augment.flip);
    EXPECT_EQ(r.validation, 5000);
    EXPECT_EQ(r.seed, 7u);
    EXPECT_EQ(r.output, "models/x.safetensors");
    // What checkpoints record parses back to the same recipe.
    const Recipe again = parse_recipe_json(recipe_to_json(r).dump(), "again");
    EXPECT_EQ(recipe_to_json(again), recipe_to_json(r));
}

TEST(Recipe, AdamWAndStepSchedule) {
    const Recipe r = parse_recipe_json(R"({"model": "lenet300", "epochs": 3, "batch_size": 8,
        "optimizer": {"name": "adamw", "lr": 0.001, "beta2": 0.99},
        "schedule": {"name": "step", "step_epochs": 2, "gamma": 0.5}})", "a.json");
    EXPECT_EQ(r.optimizer.name, "adamw");
    EXPECT_FLOAT_EQ(r.optimizer.beta2, 0.99f);
    EXPECT_FLOAT_EQ(r.optimizer.weight_decay, 0.01f);  // PyTorch AdamW default
    EXPECT_DOUBLE_EQ(r.schedule.step_epochs, 2.0);
    EXPECT_EQ(r.data, "fashion-mnist");
    EXPECT_EQ(r.validation, 5000);
}

TEST(Recipe, ErrorsNameFileAndKey) {
    struct Case {
        std::string text, key;
    };
    const Case cases[] = {
        {with("\"seed\": 7", "\"seed\": 7, \"sede\": 1"), "'sede': unknown key"},
        {with("\"model\": \"lenet5\"", "\"model\": \"resnet9000\""), "'model': unknown model"},
        {with("\"epochs\": 12", "\"epochs\": 0"), "'epochs': must be in"},
        {with("\"epochs\": 12", "\"epochs\": 1.5"), "'epochs': must be an integer"},
        {with("\"batch_size\": 32", "\"batch_size\": \"32\""), "'batch_size': must be an integer"},
        {with("\"lr\": 0.05", "\"lr\": -1"), "'optimizer.lr': must be in"},
        {with("\"lr\": 0.05", "\"rl\": 0.05"), "'optimizer.lr': missing"},
        {with("\"name\": \"sgd\"", "\"name\": \"adam\""), "'optimizer.name': 'adam' is not one of"},
        {with("\"name\": \"sgd\"", "\"name\": \"adamw\""), "'optimizer.momentum': unknown key"},
        {with("\"nesterov\": true", "\"nesterov\": 1"), "'optimizer.nesterov': must be true or false"},
        {with("\"name\": \"cosine\"", "\"name\": \"linear\""), "'schedule.name'"},
        {with("\"min_lr\": 0.001", "\"gamma\": 0.1"), "'schedule.gamma': unknown key"},
        {with("\"crop_pad\": 2", "\"crop_pad\": -2"), "'augment.crop_pad'"},
        {with("\"flip\": true", "\"flop\": true"), "'augment.flop': unknown key"},
        {with("\"data\": \"fashion-mnist\"", "\"data\": \"cifar10\""), "'data'"},
        {R"({"epochs": 1, "batch_size": 1, "optimizer": {"name": "sgd", "lr": 0.1}})", "'model': missing"},
        {R"({"model": "lenet5", "epochs": 1, "batch_size": 1})", "'optimizer': missing"},
        {with("\"validation\": 5000", "\"validation\": 5000, \"train_subset\": 4000"), "'validation': must be smaller"},
    };
    for (const auto& c : cases) {
        const std::string e = recipe_error_of(c.text);
        EXPECT_NE(e.find("[r.json]"), std::string::npos) << e;
        EXPECT_NE(e.find(c.key), std::string::npos) << "expected " << c.key << " in: " << e;
    }
    EXPECT_NE(recipe_error_of("{ not json").find("not valid JSON"), std::string::npos);
    EXPECT_NE(recipe_error_of("[1, 2]").find("JSON object"), std::string::npos);
}

TEST(Recipe, CommittedRecipesParse) {
    for (const char* name : {"fmnist-lenet300", "fmnist-lenet5", "fmnist-mobilenetv2_tiny"}) {
        const std::string path = std::string(TERN_SOURCE_DIR) + "/models/recipes/" + name + ".json";
        const Recipe r = load_recipe(path);
        EXPECT_EQ(r.output, std::string("models/") + name + ".safetensors");
    }
    const Recipe lm = load_recipe(std::string(TERN_SOURCE_DIR) + "/models/recipes/tinylm.json");
    EXPECT_TRUE(is_language_model(lm));
    EXPECT_EQ(lm.output, "models/tinylm.gguf");
    EXPECT_THROW(load_recipe("/nonexistent/recipe.json"), IoError);
}

TEST(Recipe, LanguageModelKeys) {
    const std::string good = R"({"model": "llama", "data": "text", "epochs": 2, "batch_size": 8,
      "optimizer": {"name": "adamw", "lr": 0.001},
      "lm": {"vocab_size": 1024, "dim": 64, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 128, "context": 64,
             "sources": ["sotu", "austen"], "train_tokens": 5000, "gguf_type": "q8_0"}})";
    const Recipe r = parse_recipe_json(good, "lm.json");
    EXPECT_EQ(r.lm.vocab_size, 1024);
    EXPECT_EQ(r.lm.kv_heads, 2);
    EXPECT_EQ(r.lm.sources, (std::vector<std::string>{"sotu", "austen"}));
    EXPECT_EQ(r.lm.gguf_type, "q8_0");
    EXPECT_EQ(parse_recipe_json(recipe_to_json(r).dump(), "again").lm.train_tokens, 5000);  // round trip
    auto err = [&](const std::string& from, const std::string& to) {
        std::string s = good;
        s.replace(s.find(from), from.size(), to);
        return recipe_error_of(s);
    };
    EXPECT_NE(err("\"llama\"", "\"lenet5\"").find("'model'"), std::string::npos);
    EXPECT_NE(err("\"kv_heads\": 2", "\"kv_heads\": 3").find("lm.kv_heads"), std::string::npos);
    EXPECT_NE(err("\"heads\": 4", "\"heads\": 3").find("lm.heads"), std::string::npos);
    EXPECT_NE(err("\"austen\"", "\"wikipedia\"").find("lm.sources"), std::string::npos);
    EXPECT_NE(err("\"ffn\"", "\"fnn\"").find("lm.fnn"), std::string::npos);
    EXPECT_NE(err("\"context\": 64", "\"context\": 2").find("lm.context"), std::string::npos);
    // "lm" belongs to text recipes only.
    EXPECT_NE(recipe_error_of(std::string(kGood).replace(std::string(kGood).find("\"seed\""), 0, "\"lm\": {}, ")).find("'lm'"),
              std::string::npos);
}
