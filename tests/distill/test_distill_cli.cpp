// `tern train` with a "distill" section: bad teachers and layer choices fail
// with one line naming the file, exit 1, write nothing; a one-epoch run on 300
// images writes the student and reports the teacher (text and JSON).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "io/io_test_util.h"
#include "io/safetensors.h"
#include "nn/data/image_dataset.h"
#include "nn/models/zoo.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"
#include "ref/reference.h"
#include "data/fashion_mnist_test_util.h"

using tern::testcli::run_tern;

namespace tern::distill {
namespace {


std::string distill_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }
const std::string kDistillCliMobilenet = distill_cli_source("models/fmnist-mobilenetv2_tiny.safetensors");

// One epoch of lenet5 on 1000 images (100 held out) with `distill` spliced in.
std::string distill_cli_recipe(const std::string& distill, int64_t subset = 1000) {
    return R"({"model": "lenet5", "epochs": 1, "batch_size": 50, "train_subset": )" + std::to_string(subset) +
           R"(, "validation": 100, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "grad_clip": 1},
        "schedule": {"name": "constant"}, "seed": 1, "distill": )" + distill + "}";
}

std::string teacher_json(const std::string& teacher, const std::string& more = "") {
    return R"({"teacher": ")" + teacher + "\"" + more + "}";
}

TEST(DistillCli, BadTeachersAndLayersFailWithOneLineAndWriteNothing) {
    REQUIRE_FASHION();
    testio::TempDir dir;
    // A teacher for 5 classes, a file of bytes, and bare weights without tern metadata.
    const std::string five = dir.file("five.safetensors"), junk = dir.file("junk.safetensors"),
                      bare = dir.file("bare.safetensors");
    nn::train::save_classifier(five, *nn::models::make_model("lenet5", 1, 1, 5),
                               {{"tern.model", "lenet5"}, {"tern.num_classes", "5"}});
    std::ofstream(junk) << "not a safetensors file at all";
    io::write_safetensors(bare, nn::train::module_state(*nn::models::make_model("lenet5", 1)));
    const struct {
        const char* name;
        std::string distill, file, error;
    } cases[] = {
        {"no teacher file", teacher_json(dir.file("nope.safetensors")), "",
         "key 'distill.teacher': no classifier file '" + dir.file("nope.safetensors") + "'"},
        {"junk teacher", teacher_json(junk), junk, ""},
        {"5-class teacher", teacher_json(five), five,
         "teacher gives [1, 5] logits; the student (fashion-mnist) has 10 classes"},
        {"bare weights", teacher_json(bare), bare, "no tern.model in __metadata__); name its architecture with distill.teacher_model"},
        {"bare weights, wrong model", teacher_json(bare, R"(, "teacher_model": "lenet300")"), bare, ""},
        {"model disagrees", teacher_json(kDistillCliMobilenet, R"(, "teacher_model": "lenet5")"), kDistillCliMobilenet,
         "holds model 'mobilenetv2_tiny', distill.teacher_model says 'lenet5'"},
        {"unknown point", teacher_json(kDistillCliMobilenet, R"(, "loss": "fitnets", "layers": [["pool1", "blocks.99"]])"), "",
         "key 'distill.layers': no point 'blocks.99' in the model (known: stem, stem_bn, blocks.0"},
        {"attention sizes", teacher_json(kDistillCliMobilenet, R"(, "loss": "attention", "layers": [["conv2", "blocks.1"]])"), "",
         "attention transfer needs feature maps of the same height and width: student 'conv2' [1, 16, 10, 10] vs "
         "teacher 'blocks.1' [1, 24, 14, 14]"},
        {"hint vector vs map", teacher_json(kDistillCliMobilenet, R"(, "loss": "fitnets", "layers": [["fc1", "blocks.1"]])"), "",
         "a hint needs two feature maps of the same height and width or two feature vectors"},
    };
    for (const auto& c : cases) {
        const std::string path = dir.file("bad.json"), out = dir.file("bad.safetensors");
        std::ofstream(path) << distill_cli_recipe(c.distill);
        const auto r = run_tern("train " + path + " --out " + out);
        EXPECT_EQ(r.code, 1) << c.name << ": " << r.all();
        EXPECT_NE(r.err.find(c.error), std::string::npos) << c.name << ": " << r.err;
        EXPECT_NE(r.err.find(c.file.empty() ? path : c.file), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.name;
        EXPECT_FALSE(std::filesystem::exists(out + ".resume.safetensors")) << c.name;
        EXPECT_FALSE(std::filesystem::exists(out + ".metrics.csv")) << c.name;
    }
}

TEST(DistillCli, KdRunReportsTheTeacher) {
    REQUIRE_FASHION();
    testio::TempDir dir;
    const std::string path = dir.file("kd.json"), out = dir.file("kd.safetensors");
    std::ofstream(path) << distill_cli_recipe(teacher_json(kDistillCliMobilenet, R"(, "alpha": 0.9, "temperature": 4)"), 300);
    const auto r = run_tern("train " + path + " --out " + out + " --json");
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["distill"]["teacher"], kDistillCliMobilenet);
    EXPECT_EQ(j["distill"]["teacher_model"], "mobilenetv2_tiny");
    EXPECT_EQ(j["distill"]["loss"], "kd");
    EXPECT_FLOAT_EQ(j["distill"]["alpha"].get<float>(), 0.9f);
    EXPECT_GT(j["distill"]["teacher_test_accuracy"].get<double>(), 0.9);
    EXPECT_NE(r.err.find("distill: teacher " + kDistillCliMobilenet + " (mobilenetv2_tiny, test acc 93.73 %), loss kd, T 4, "
                         "alpha 0.9"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(std::filesystem::exists(out));
    EXPECT_EQ(nn::train::load_classifier(out).model_name, "lenet5");
}

}  // namespace
}  // namespace tern::distill
