// `tern train` with a "prune" section: bad recipes fail with one line naming
// the recipe, exit 1, and write nothing; a short pruned fine-tune writes a
// model whose zeros are exact and that `tern eval` loads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "nn/data/image_dataset.h"
#include "nn/train/model_file.h"
#include "prune/classifier_masks.h"
#include "ref/reference.h"
#include "data/fashion_mnist_test_util.h"

using tern::testcli::run_tern;

namespace {


std::string classifier_prune_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

std::string classifier_prune_cli_temp_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-prune-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

// A one-epoch lenet300 recipe on 2000 images with `prune` (and `init`) spliced in.
std::string classifier_prune_cli_recipe(const std::string& model, const std::string& init, const std::string& prune) {
    return R"({"model": ")" + model + R"(", "epochs": 1, "batch_size": 64, "train_subset": 2000, "validation": 200,
        "optimizer": {"name": "sgd", "lr": 0.005, "momentum": 0.9}, "schedule": {"name": "constant"}, "seed": 1,
        "init": ")" + init + R"(", "prune": )" + prune + "}";
}

struct ClassifierPruneCliCase {
    const char* name;
    std::string model, init, prune, error;
    bool needs_data;
};

}  // namespace

TEST(ClassifierPruneCli, BadRecipesFailWithOneLineAndWriteNothing) {
    const std::string dir = classifier_prune_cli_temp_dir();
    const std::string lenet300 = classifier_prune_cli_source("models/fmnist-lenet300.safetensors");
    const ClassifierPruneCliCase cases[] = {
        {"sparsity 1", "lenet300", lenet300, R"({"sparsity": 1.0})", "key 'prune.sparsity': must be in [0, 1), got 1", false},
        {"sparsity -0.1", "lenet300", lenet300, R"({"sparsity": -0.1})", "key 'prune.sparsity': must be in [0, 1)", false},
        {"unknown method", "lenet300", lenet300, R"({"method": "l2", "sparsity": 0.5})",
         "key 'prune.method': 'l2' is not one of: magnitude, taylor, obd", false},
        {"pattern not dividing", "lenet5", classifier_prune_cli_source("models/fmnist-lenet5.safetensors"), R"({"pattern": "2:4"})",
         "key 'prune.pattern': 2:4 groups rows in 4s, but conv1.weight of lenet5 has rows of 25", false},
        {"bad pattern", "lenet300", lenet300, R"({"pattern": "4:2"})", "key 'prune.pattern': '4:2' needs 0 < N < M", false},
        {"pattern and sparsity", "lenet300", lenet300, R"({"pattern": "2:4", "sparsity": 0.5})",
         "give either sparsity or pattern", false},
        {"agp without end", "lenet300", lenet300, R"({"sparsity": 0.5, "schedule": "agp"})",
         "key 'prune.end_epoch': missing (required)", false},
        {"unknown key", "lenet300", lenet300, R"({"sparsity": 0.5, "sparsty": 0.5})", "key 'prune.sparsty': unknown key",
         false},
        {"init missing", "lenet300", dir + "/nope.safetensors", R"({"sparsity": 0.5})",
         "key 'init': no classifier file '" + dir + "/nope.safetensors'", true},
        {"init other model", "lenet300", classifier_prune_cli_source("models/fmnist-lenet5.safetensors"), R"({"sparsity": 0.5})",
         "holds model 'lenet5', the recipe trains 'lenet300'", true},
    };
    for (const ClassifierPruneCliCase& c : cases) {
        if (c.needs_data && !tern::testdata::have_fashion_mnist()) continue;
        const std::string path = dir + "/bad.json", out = dir + "/bad.safetensors";
        std::ofstream(path) << classifier_prune_cli_recipe(c.model, c.init, c.prune);
        const auto r = run_tern("train " + path + " --out " + out);
        EXPECT_EQ(r.code, 1) << c.name << ": " << r.all();
        EXPECT_NE(r.err.find(c.error), std::string::npos) << c.name << ": " << r.err;
        EXPECT_NE(r.err.find(path), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
        for (const char* suffix : {"", ".metrics.csv", ".sparsity.csv", ".resume.safetensors"})
            EXPECT_FALSE(std::filesystem::exists(out + suffix)) << c.name << " wrote " << suffix;
    }
}

TEST(ClassifierPruneCli, GlobalMagnitudeWritesExactZerosThatEvalLoads) {
    REQUIRE_FASHION();
    const std::string dir = classifier_prune_cli_temp_dir();
    const std::string path = dir + "/r.json", out = dir + "/m.safetensors";
    std::ofstream(path) << classifier_prune_cli_recipe("lenet300", classifier_prune_cli_source("models/fmnist-lenet300.safetensors"),
                                  R"({"method": "magnitude", "scope": "global", "sparsity": 0.9})");
    const auto r = run_tern("train " + path + " --out " + out + " --json -t 2");
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    const auto& layers = j.at("sparsity").at("layers");
    ASSERT_EQ(layers.size(), 4u);  // fc1, fc2, fc3, total
    EXPECT_EQ(layers.back().at("layer"), "total");
    EXPECT_EQ(layers.back().at("weights").get<int64_t>(), 784 * 300 + 300 * 100 + 100 * 10);
    EXPECT_GE(layers.back().at("zeros").get<int64_t>(), std::llround(0.9 * 266200));
    EXPECT_GE(j.at("sparsity").at("compression").get<double>(), 9.99);
    EXPECT_GE(j.at("test_accuracy").get<double>(), 0.8);  // from a trained model, one short fine-tune
    EXPECT_TRUE(std::filesystem::exists(out + ".sparsity.csv"));
    const auto f = tern::nn::train::load_classifier(out);
    const auto s = tern::prune::measure_sparsity(tern::prune::prunable_weights(*f.model));
    EXPECT_EQ(s.back().zeros, layers.back().at("zeros").get<int64_t>());
    const auto e = run_tern("eval " + out + " --data fashion-mnist --json -t 2");
    ASSERT_EQ(e.code, 0) << e.err;
    EXPECT_NEAR(nlohmann::json::parse(e.out).at("accuracy").get<double>(), j.at("test_accuracy").get<double>(), 1e-9);
}

TEST(ClassifierPruneCli, TaylorTwoFourHoldsInEveryGroupOfTheFile) {
    REQUIRE_FASHION();
    const std::string dir = classifier_prune_cli_temp_dir();
    const std::string path = dir + "/r24.json", out = dir + "/m24.safetensors";
    std::ofstream(path) << classifier_prune_cli_recipe("lenet300", classifier_prune_cli_source("models/fmnist-lenet300.safetensors"),
                                  R"({"method": "taylor", "pattern": "2:4", "calibration_batches": 2})");
    const auto r = run_tern("train " + path + " --out " + out + " -t 2");
    ASSERT_EQ(r.code, 0) << r.all();
    const auto f = tern::nn::train::load_classifier(out);
    for (const auto& w : tern::prune::prunable_weights(*f.model)) {
        const float* p = w.param.data();
        for (int64_t g = 0; g < w.numel(); g += 4) {
            int nonzero = 0;
            for (int k = 0; k < 4; ++k) nonzero += p[g + k] != 0.0f;
            ASSERT_LE(nonzero, 2) << w.name << " group " << g / 4;
        }
    }
}
