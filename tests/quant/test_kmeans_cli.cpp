// `tern quantize --method kmeans` and a recipe's "kmeans" section: the
// compressed file of LeNet-300 is several times smaller, `tern eval` decodes
// it to exactly the in-memory shared model (same accuracy), the recipe path
// writes a compressed file whose accuracy `tern eval` reproduces, and hostile
// compressed files (truncated stream, code lengths that are no prefix code,
// counts or shapes that do not match) fail with one line naming the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "data/fashion_mnist_test_util.h"
#include "io/safetensors.h"
#include "io/shared_weights.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"
#include "quant/kmeans_model.h"

using tern::testcli::run_tern;
using namespace tern;

namespace {

std::string kmeans_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

std::string kmeans_cli_temp_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-kmeans-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

double eval_accuracy(const std::string& path) {
    const auto r = run_tern("eval " + path + " --data fashion-mnist --json");
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(r.out).at("accuracy").get<double>();
}

// A copy of `good` with one shared tensor part or the metadata changed.
std::string rewrite(const std::string& good, const std::string& out, const std::function<void(std::vector<NamedTensor>&,
                                                                                               std::map<std::string, std::string>&)>& edit) {
    const auto f = io::read_safetensors(good);
    std::vector<NamedTensor> tensors;
    for (const auto& t : f.tensors) tensors.push_back({t.name, t.tensor.clone()});
    std::map<std::string, std::string> meta(f.infos[0].metadata.begin(), f.infos[0].metadata.end());
    edit(tensors, meta);
    io::write_safetensors(out, tensors, meta);
    return out;
}

Tensor& part(std::vector<NamedTensor>& tensors, const std::string& name) {
    for (auto& t : tensors)
        if (t.name == name) return t.tensor;
    throw std::runtime_error("no " + name);
}

}  // namespace

TEST(KmeansCli, OneShotFileIsSmallerAndEvalMatchesTheInMemoryModel) {
    REQUIRE_FASHION();
    const std::string d = kmeans_cli_temp_dir(), out = d + "/k4.safetensors";
    const auto r = run_tern("quantize " + kmeans_cli_source("models/fmnist-lenet300.safetensors") + " -o " + out +
                            " --method kmeans --bits 4 --huffman --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("output_bytes").get<uint64_t>(), std::filesystem::file_size(out));
    EXPECT_GT(j.at("ratio").get<double>(), 7.0);  // 32-bit floats -> ~4-bit codes, Huffman a little less
    for (const auto& l : j.at("layers")) {
        EXPECT_LE(l.at("shared_values").get<int>(), 16);
        EXPECT_LT(l.at("bits_per_weight").get<double>(), 4.5);
    }
    auto original = nn::train::load_classifier(kmeans_cli_source("models/fmnist-lenet300.safetensors"));
    quant::share_model_weights(*original.model, 4);
    const auto test = nn::train::load_test_data("fashion-mnist");
    EXPECT_EQ(eval_accuracy(out), nn::train::evaluate(*original.model, test).accuracy);
    // Loaded weights are the in-memory shared ones, bit for bit.
    const auto loaded = nn::train::load_classifier(out);
    const auto a = original.model->named_parameters(), b = loaded.model->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].second.value().to_floats(), b[i].second.value().to_floats()) << a[i].first;
}

TEST(KmeansCli, RecipeFineTunesCentroidsAndWritesTheCompressedFile) {
    REQUIRE_FASHION();
    const std::string d = kmeans_cli_temp_dir(), recipe = d + "/kmeans.json", out = d + "/ft.safetensors";
    std::ofstream(recipe) << R"({"model": "lenet300", "epochs": 1, "batch_size": 64, "train_subset": 512, "validation": 0,
        "optimizer": {"name": "sgd", "lr": 0.0001}, "schedule": {"name": "constant"}, "seed": 1,
        "init": ")" << kmeans_cli_source("models/fmnist-lenet300.safetensors") << R"(", "output": ")" << out
                          << R"(", "kmeans": {"bits": 2}})";
    const auto r = run_tern("train " + recipe + " --json -t 1");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("kmeans").at("output_bytes").get<uint64_t>(), std::filesystem::file_size(out));
    EXPECT_GT(j.at("kmeans").at("ratio").get<double>(), 12.0);
    for (const auto& l : j.at("kmeans").at("layers")) EXPECT_LE(l.at("shared_values").get<int>(), 4);
    EXPECT_EQ(eval_accuracy(out), j.at("test_accuracy").get<double>());
}

TEST(KmeansCli, HostileCompressedFilesFailWithOneLineNamingTheFile) {
    const std::string d = kmeans_cli_temp_dir(), good = d + "/good.safetensors";
    ASSERT_EQ(run_tern("quantize " + kmeans_cli_source("models/fmnist-lenet300.safetensors") + " -o " + good +
                       " --method kmeans --bits 4 --huffman")
                  .code,
              0);
    struct Case {
        std::string name, expect;
        std::function<void(std::vector<NamedTensor>&, std::map<std::string, std::string>&)> edit;
    };
    const std::vector<Case> cases = {
        {"truncated", "truncated",
         [](auto& t, auto&) { part(t, "fc1.weight.codes") = Tensor::zeros({100}, DType::u8); }},
        {"not_prefix", "not a prefix code",
         [](auto& t, auto&) {
             Tensor& l = part(t, "fc1.weight.code_lengths");
             std::fill(l.data<uint8_t>(), l.data<uint8_t>() + l.numel(), uint8_t{1});
         }},
        {"shape", "has shape [100, 300] but the model's is [300, 784]",
         [](auto&, auto& m) {
             auto j = nlohmann::json::parse(m[io::kCompressionKey]);
             j["tensors"][0]["shape"] = {100, 300};
             m[io::kCompressionKey] = j.dump();
         }},
        {"count", "stores 235200 codes, not 235199",
         [](auto&, auto& m) {
             auto j = nlohmann::json::parse(m[io::kCompressionKey]);
             j["tensors"][0]["weights"] = 235199;
             m[io::kCompressionKey] = j.dump();
         }},
        {"missing", "'fc2.weight.codebook' is missing",
         [](auto& t, auto&) { std::erase_if(t, [](const NamedTensor& n) { return n.name == "fc2.weight.codebook"; }); }},
        {"json", "tern.compression metadata is not valid JSON", [](auto&, auto& m) { m[io::kCompressionKey] = "{"; }},
    };
    for (const auto& c : cases) {
        const std::string path = rewrite(good, d + "/" + c.name + ".safetensors", c.edit);
        const auto r = run_tern("eval " + path + " --data fashion-mnist");
        EXPECT_EQ(r.code, 1) << c.name << ": " << r.all();
        EXPECT_NE(r.err.find(path), std::string::npos) << c.name << ": " << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
    }
}

TEST(KmeansCli, BadOptionsAreUsageErrors) {
    const std::string d = kmeans_cli_temp_dir(), model = kmeans_cli_source("models/fmnist-lenet300.safetensors");
    EXPECT_EQ(run_tern("quantize " + model + " -o " + d + "/a.safetensors --method kmeans --bits 9").code, 2);
    EXPECT_EQ(run_tern("quantize " + model + " -o " + d + "/a.safetensors --format q8_0 --huffman").code, 2);
    EXPECT_EQ(run_tern("quantize " + model + " -o " + d + "/a.gguf --method kmeans").code, 2);
    EXPECT_FALSE(std::filesystem::exists(d + "/a.safetensors"));
}
