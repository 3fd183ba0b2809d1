// `tern train` with a "distill" section: bad teachers and layer choices fail
// with one line naming the file, exit 1, write nothing; a one-epoch run on
// 1000 images works, reports the teacher, and the teacher measurably pulls the
// student towards its own outputs (alpha 1 vs alpha 0 from the same seed); a
// distilled run killed mid-epoch resumes to the same weights (the recipe
// names the teacher; the checkpoint does not hold it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "cli/cli_runner.h"
#include "distill/classifier_distill.h"
#include "distill/losses.h"
#include "io/io_test_util.h"
#include "io/safetensors.h"
#include "nn/data/image_dataset.h"
#include "nn/models/zoo.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"
#include "nn/train/recipe.h"
#include "nn/train/trainer.h"
#include "ref/reference.h"

using tern::testcli::run_tern;

namespace tern::distill {
namespace {

bool have_fashion() {
    return std::filesystem::exists(data::default_fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz");
}
#define REQUIRE_FASHION() \
    if (!have_fashion()) TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)"

std::string source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }
const std::string kMobilenet = source("models/fmnist-mobilenetv2_tiny.safetensors");

// One epoch of lenet5 on 1000 images (100 held out) with `distill` spliced in.
std::string recipe(const std::string& distill, int64_t subset = 1000) {
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
        {"model disagrees", teacher_json(kMobilenet, R"(, "teacher_model": "lenet5")"), kMobilenet,
         "holds model 'mobilenetv2_tiny', distill.teacher_model says 'lenet5'"},
        {"unknown point", teacher_json(kMobilenet, R"(, "loss": "fitnets", "layers": [["pool1", "blocks.99"]])"), "",
         "key 'distill.layers': no point 'blocks.99' in the model (known: stem, stem_bn, blocks.0"},
        {"attention sizes", teacher_json(kMobilenet, R"(, "loss": "attention", "layers": [["conv2", "blocks.1"]])"), "",
         "attention transfer needs feature maps of the same height and width: student 'conv2' [1, 16, 10, 10] vs "
         "teacher 'blocks.1' [1, 24, 14, 14]"},
        {"hint vector vs map", teacher_json(kMobilenet, R"(, "loss": "fitnets", "layers": [["fc1", "blocks.1"]])"), "",
         "a hint needs two feature maps of the same height and width or two feature vectors"},
    };
    for (const auto& c : cases) {
        const std::string path = dir.file("bad.json"), out = dir.file("bad.safetensors");
        std::ofstream(path) << recipe(c.distill);
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

// Mean T^2 KL(teacher || student) at T 4 over the first 500 test images.
double soft_kl_to_teacher(const std::string& student_path, nn::UnaryModule& teacher) {
    data::ImageDataset test = nn::train::load_test_data("fashion-mnist");
    std::vector<int64_t> idx(500);
    for (int64_t i = 0; i < 500; ++i) idx[static_cast<size_t>(i)] = i;
    test = data::subset(test, idx);
    Tensor x = Tensor::empty({500, 1, 28, 28});
    std::memcpy(x.data<float>(), test.image(0), static_cast<size_t>(500 * test.image_numel()) * sizeof(float));
    auto student = nn::train::load_classifier(student_path).model;
    nn::NoGradGuard no_grad;
    teacher.eval();
    return soft_target_kd(student->forward(nn::Var(x)), teacher.forward(nn::Var(x)), 4).item();
}

TEST(DistillCli, TeacherPullsTheStudentTowardsItsOutputs) {
    REQUIRE_FASHION();
    testio::TempDir dir;
    auto run = [&](const std::string& name, const std::string& more) {
        const std::string path = dir.file(name + ".json"), out = dir.file(name + ".safetensors");
        std::ofstream(path) << recipe(teacher_json(kMobilenet, more));
        const auto r = run_tern("train " + path + " --out " + out + " --json");
        EXPECT_EQ(r.code, 0) << r.all();
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["distill"]["teacher"], kMobilenet);
        EXPECT_EQ(j["distill"]["teacher_model"], "mobilenetv2_tiny");
        EXPECT_NE(r.err.find("distill: teacher " + kMobilenet + " (mobilenetv2_tiny"), std::string::npos) << r.err;
        return out;
    };
    const std::string taught = run("taught", R"(, "alpha": 1, "temperature": 4)");
    const std::string alone = run("alone", R"(, "alpha": 0)");
    auto teacher = nn::train::load_classifier(kMobilenet).model;
    const double kl_taught = soft_kl_to_teacher(taught, *teacher), kl_alone = soft_kl_to_teacher(alone, *teacher);
    std::printf("soft KL to the teacher: taught %.4f, alone %.4f\n", kl_taught, kl_alone);
    EXPECT_LT(kl_taught, 0.8 * kl_alone);
}

struct Killed : std::runtime_error {
    Killed() : std::runtime_error("killed") {}
};

TEST(DistillCli, FitnetsAndAttentionRunAndKdResumesExactly) {
    REQUIRE_FASHION();
    testio::TempDir dir;
    for (const char* loss : {"fitnets", "attention"}) {
        const std::string path = dir.file(std::string(loss) + ".json"), out = dir.file(std::string(loss) + ".safetensors");
        std::ofstream(path) << recipe(teacher_json(kMobilenet, std::string(R"(, "loss": ")") + loss +
                                                                   R"(", "layers": [["pool1", "blocks.1"], ["conv1", "stem_bn"]])"),
                                      300);
        const auto r = run_tern("train " + path + " --out " + out);
        EXPECT_EQ(r.code, 0) << loss << ": " << r.all();
        EXPECT_NE(r.out.find(std::string("loss ") + loss), std::string::npos) << r.out;
        EXPECT_TRUE(std::filesystem::exists(out)) << loss;
    }

    // Killed after step 4 (checkpoint after step 3), resumed: the same weights as straight through.
    nn::train::Recipe r = nn::train::parse_recipe_json(recipe(teacher_json(kMobilenet), 400), dir.file("kd.json"));
    r.output = dir.file("kd.safetensors");
    auto train = [&](const nn::train::RunOptions& o, bool kill) {
        ClassifierDistiller d(r, load_teacher(r));
        nn::train::TrainHooks h = d.hooks();
        std::vector<std::vector<float>> weights;
        h.on_step_end = [&](nn::train::StepContext& c) {
            if (kill && c.step == 4) throw Killed();
        };
        h.on_epoch_end = [&](nn::Module& m, nn::Optimizer&, const nn::train::EpochTotals&) {
            for (const auto& t : nn::train::module_state(m)) weights.push_back(t.tensor.to_floats());
        };
        nn::train::run(r, h, o);
        return weights;
    };
    nn::train::RunOptions quiet;
    quiet.checkpoint_minutes = 0;
    const auto straight = train(quiet, false);
    nn::train::RunOptions every3 = quiet;
    every3.checkpoint_every_steps = 3;
    EXPECT_THROW(train(every3, true), Killed);
    nn::train::RunOptions resume = quiet;
    resume.resume = r.output + ".resume.safetensors";
    ASSERT_TRUE(std::filesystem::exists(resume.resume));
    const auto resumed = train(resume, false);
    ASSERT_EQ(straight.size(), resumed.size());
    ASSERT_FALSE(straight.empty());
    for (size_t i = 0; i < straight.size(); ++i) ASSERT_EQ(straight[i], resumed[i]) << "tensor " << i;
}

}  // namespace
}  // namespace tern::distill
