// `tern train` with a "binary" / "ternary" section: a short BWN run from the
// trained LeNet-5 writes a packed model file that `tern eval` reproduces
// exactly, smaller than the f32 one; `tern export` / `tern quantize` refuse it
// with one line; training from it again is refused. Bad recipes fail with one
// line naming the recipe, exit 1, nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "data/fashion_mnist_test_util.h"

using tern::testcli::run_tern;

namespace {

std::string binary_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

std::string binary_cli_temp_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-binary-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

std::string binary_cli_recipe(const std::string& section, const std::string& init) {
    return R"({"model": "lenet5", "epochs": 1, "batch_size": 64, "train_subset": 512, "validation": 0,
        "optimizer": {"name": "adamw", "lr": 0.001}, "schedule": {"name": "constant"}, "seed": 1,
        "init": ")" + init + R"(", )" + section + "}";
}

}  // namespace

TEST(BinaryCli, BwnTrainWritesAPackedFileEvalReproduces) {
    REQUIRE_FASHION();
    const std::string dir = binary_cli_temp_dir();
    const std::string init = binary_cli_source("models/fmnist-lenet5.safetensors");
    const std::string path = dir + "/r.json", out = dir + "/m.safetensors";
    std::ofstream(path) << binary_cli_recipe(R"("binary": {"method": "bwn"})", init);
    const auto r = run_tern("train " + path + " --out " + out + " --json");
    ASSERT_EQ(r.code, 0) << r.all();
    EXPECT_NE(r.err.find("training bwn (binary weights x per-channel alpha, first and last layer f32) from " + init),
              std::string::npos)
        << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["binary"]["layers"], nlohmann::json::array({"conv2", "fc1", "fc2"}));
    const int64_t bytes = j["binary"]["file_bytes"].get<int64_t>(), f32 = j["binary"]["f32_file_bytes"].get<int64_t>();
    EXPECT_EQ(bytes, static_cast<int64_t>(std::filesystem::file_size(out)));
    EXPECT_LT(bytes * 6, f32);
    // 512 images of BWN fine-tuning keep most of the fp32 model (91.65 %): far above chance.
    const double acc = j["test_accuracy"].get<double>();
    EXPECT_GT(acc, 0.6);

    const auto e = run_tern("eval " + out + " --data fashion-mnist --json");
    ASSERT_EQ(e.code, 0) << e.all();
    EXPECT_EQ(nlohmann::json::parse(e.out)["accuracy"].get<double>(), acc);

    const auto x = run_tern("export " + out + " -o " + dir + "/m.onnx");
    EXPECT_EQ(x.code, 1) << x.all();
    EXPECT_NE(x.err.find(out + "] is a binary / ternary model (packed 1- or 2-bit layers)"), std::string::npos) << x.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/m.onnx"));
    const auto q = run_tern("quantize " + out + " -o " + dir + "/q.onnx --method minmax --calib fashion-mnist:train:64");
    EXPECT_EQ(q.code, 1) << q.all();
    EXPECT_NE(q.err.find("is a binary / ternary model"), std::string::npos) << q.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/q.onnx"));
    const auto g = run_tern("quantize " + out + " -o " + dir + "/q.gguf --format q8_0");
    EXPECT_EQ(g.code, 1) << g.all();
    EXPECT_NE(g.err.find("[" + out + "] is a binary / ternary model (packed 1- or 2-bit layers); quantizing it again"),
              std::string::npos)
        << g.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/q.gguf"));

    const std::string again = dir + "/again.json";
    std::ofstream(again) << binary_cli_recipe(R"("ternary": {})", out);
    const auto a = run_tern("train " + again + " --out " + dir + "/again.safetensors");
    EXPECT_EQ(a.code, 1) << a.all();
    EXPECT_NE(a.err.find("key 'init': '" + out + "' is already a quantized model (tern.binary); start from an fp32 one"),
              std::string::npos)
        << a.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/again.safetensors"));
    std::filesystem::remove_all(dir);
}

TEST(BinaryCli, BadRecipesFailWithOneLineAndWriteNothing) {
    const std::string dir = binary_cli_temp_dir();
    const std::string lenet5 = binary_cli_source("models/fmnist-lenet5.safetensors");
    struct Case {
        const char* name;
        std::string section, init, error;
    };
    const Case cases[] = {
        {"method", R"("binary": {"method": "dorefa"})", lenet5, "key 'binary.method': 'dorefa' is not one of: bwn, xnor"},
        {"threshold", R"("ternary": {"method": "ttq", "threshold": 2})", lenet5,
         "key 'ternary.threshold': must be in [0.001, 0.99], got 2"},
        {"init missing", R"("binary": {})", dir + "/nope.safetensors",
         "key 'init': no classifier file '" + dir + "/nope.safetensors'"},
        {"with qat", R"("binary": {}, "qat": {})", lenet5, "key 'binary': cannot be combined with 'qat' in one recipe"},
    };
    for (const Case& c : cases) {
        const std::string path = dir + "/bad.json", out = dir + "/bad.safetensors";
        std::ofstream(path) << binary_cli_recipe(c.section, c.init);
        const auto r = run_tern("train " + path + " --out " + out);
        EXPECT_EQ(r.code, 1) << c.name << ": " << r.all();
        EXPECT_NE(r.err.find(c.error), std::string::npos) << c.name << ": " << r.err;
        EXPECT_NE(r.err.find(path), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
        for (const char* suffix : {"", ".metrics.csv", ".resume.safetensors"})
            EXPECT_FALSE(std::filesystem::exists(out + suffix)) << c.name << " wrote " << suffix;
    }
    std::filesystem::remove_all(dir);
}
