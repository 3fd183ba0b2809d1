// `tern train` with a "qat" section: a short LSQ run from the trained LeNet-5
// at 2-bit weights writes a fake-quant model that `tern eval` reproduces
// exactly, whose weights really sit on a 2-bit grid, and whose accuracy is far
// above plain round-to-nearest at the same 2 bits (which training must earn:
// the calibrated scales alone do not get there; numbers in the test).
// Bad recipes fail with one line naming the recipe, exit 1, nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <string>

#include "cli/cli_runner.h"
#include "nn/data/image_dataset.h"
#include "nn/modules/conv.h"
#include "nn/modules/fake_quant.h"
#include "nn/modules/linear.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"
#include "ref/reference.h"
#include "data/fashion_mnist_test_util.h"

using tern::testcli::run_tern;
using namespace tern;

namespace {


std::string qat_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

std::string qat_cli_temp_dir() {
    const auto d = std::filesystem::temp_directory_path() / ("tern-qat-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
}

std::string qat_cli_recipe(const std::string& qat, const std::string& init) {
    return R"({"model": "lenet5", "epochs": 1, "batch_size": 64, "train_subset": 1024, "validation": 0,
        "optimizer": {"name": "adamw", "lr": 0.001}, "schedule": {"name": "constant"}, "seed": 1,
        "init": ")" + init + R"(", "qat": )" + qat + "}";
}

// Test accuracy of `model` with every Conv2d / Linear weight rounded to the
// nearest of 2^bits per-channel levels (scale max |w| / (2^(bits-1) - 1)), no training.
double rtn_accuracy(nn::UnaryModule& model, int bits, const data::ImageDataset& test) {
    nn::visit_modules(model, [&](const std::string&, nn::Module& m) {
        nn::Var* w = nullptr;
        if (auto* c = dynamic_cast<nn::Conv2d*>(&m)) w = &c->weight;
        if (auto* l = dynamic_cast<nn::Linear*>(&m)) w = &l->weight;
        if (!w) return;
        const int64_t rows = w->dim(0), inner = w->numel() / rows;
        const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
        for (int64_t r = 0; r < rows; ++r) {
            float* p = w->data() + r * inner;
            float amax = 0;
            for (int64_t i = 0; i < inner; ++i) amax = std::max(amax, std::fabs(p[i]));
            const float s = amax / qmax;
            for (int64_t i = 0; i < inner; ++i)
                p[i] = s > 0 ? std::fmin(std::fmax(std::nearbyint(p[i] / s), -qmax - 1), qmax) * s : 0.0f;
        }
    });
    return nn::train::evaluate(model, test).accuracy;
}

}  // namespace

TEST(QatCli, LsqW2BeatsRoundToNearestAndEvalReproducesIt) {
    REQUIRE_FASHION();
    const std::string dir = qat_cli_temp_dir();
    const std::string init = qat_cli_source("models/fmnist-lenet5.safetensors");
    const std::string path = dir + "/r.json", out = dir + "/m.safetensors";
    std::ofstream(path) << qat_cli_recipe(R"({"method": "lsq", "weight_bits": 2, "act_bits": 8, "calibration_batches": 2})", init);
    const auto r = run_tern("train " + path + " --out " + out + " --json");
    ASSERT_EQ(r.code, 0) << r.all();
    const auto j = nlohmann::json::parse(r.out);
    const double qat = j["test_accuracy"].get<double>();
    EXPECT_EQ(j["qat"]["layers"].get<int64_t>(), 5);
    EXPECT_EQ(j["qat"]["weight_bits"].get<int64_t>(), 2);

    // The file holds the learned scales: tern eval gives the same accuracy.
    const auto e = run_tern("eval " + out + " --data fashion-mnist --json");
    ASSERT_EQ(e.code, 0) << e.all();
    EXPECT_EQ(nlohmann::json::parse(e.out)["accuracy"].get<double>(), qat);

    // The fake quantizers are live in the loaded model: every output channel
    // of every layer uses at most 4 distinct weight values.
    const auto f = nn::train::load_classifier(out);
    nn::visit_modules(*f.model, [](const std::string& name, nn::Module& m) {
        nn::Var w;
        std::shared_ptr<nn::LayerFakeQuant> q;
        if (auto* c = dynamic_cast<nn::Conv2d*>(&m)) w = c->weight, q = c->fake_quant;
        if (auto* l = dynamic_cast<nn::Linear*>(&m)) w = l->weight, q = l->fake_quant;
        if (!w.defined()) return;
        ASSERT_TRUE(q) << name;
        const nn::Var wq = q->weight(w.detach());
        const int64_t rows = wq.dim(0), inner = wq.numel() / rows;
        for (int64_t row = 0; row < rows; ++row) {
            const std::set<float> levels(wq.data() + row * inner, wq.data() + (row + 1) * inner);
            EXPECT_LE(levels.size(), 4u) << name << " row " << row;
        }
    });

    // Plain 2-bit per-channel RTN of the same fp32 model (91.65 %) gives 16.4 %
    // (measured, first 2000 test images); the calibrated scales without
    // training 31.8 % (lr 1e-9); the 16 LSQ steps 83.3 %. A 40-point margin
    // over RTN cannot be met by RTN-quality weights, by a run whose quantizers
    // were inactive (the level count above), or by scales the file does not
    // carry (eval above).
    const auto fp32 = nn::train::load_classifier(init);
    std::vector<int64_t> first(2000);
    std::iota(first.begin(), first.end(), 0);  // 2000 test images: RTN is tens of points off either way
    const double rtn = rtn_accuracy(*fp32.model, 2, data::subset(nn::train::load_test_data("fashion-mnist"), first));
    std::printf("lenet5 W2: plain RTN %.2f %%, LSQ QAT (16 steps) %.2f %%\n", 100 * rtn, 100 * qat);
    EXPECT_GT(qat, rtn + 0.40);

    // Exported on its learned grid (interop/qat_graph.h, tested in tests/interop/test_qat_export.cpp).
    const auto x = run_tern("export " + out + " -o " + dir + "/m.onnx");
    EXPECT_EQ(x.code, 0) << x.all();
    EXPECT_NE(x.out.find("QAT W2A8 on its learned grid"), std::string::npos) << x.out;
    EXPECT_TRUE(std::filesystem::exists(dir + "/m.onnx"));

    // QAT twice over: the second run's init is already fake-quantized.
    const std::string again = dir + "/again.json";
    std::ofstream(again) << qat_cli_recipe("{}", out);
    const auto a = run_tern("train " + again + " --out " + dir + "/again.safetensors");
    EXPECT_EQ(a.code, 1) << a.all();
    EXPECT_NE(a.err.find("key 'init': '" + out + "' is already a QAT model; start QAT from an fp32 one"),
              std::string::npos)
        << a.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/again.safetensors"));
    std::filesystem::remove_all(dir);
}

// "qat" and "distill" in one recipe: a W4A4 student taught by its own fp32
// model. Both sections reach the run (the report has both, the file is a QAT
// model that eval reproduces), and the teacher changes the trained weights:
// the same seed without "distill" ends elsewhere.
TEST(QatCli, QatWithDistillationTrainsTheQuantizedStudentFromItsTeacher) {
    REQUIRE_FASHION();
    const std::string dir = qat_cli_temp_dir();
    const std::string init = qat_cli_source("models/fmnist-lenet5.safetensors");
    const std::string qat = R"({"method": "lsq", "weight_bits": 4, "act_bits": 4, "calibration_batches": 2})";
    std::string taught = qat_cli_recipe(qat, init);
    taught.insert(taught.size() - 1,
                  R"(, "distill": {"teacher": ")" + init + R"(", "loss": "kd", "temperature": 4, "alpha": 0.9})");
    std::ofstream(dir + "/kd.json") << taught;
    std::ofstream(dir + "/plain.json") << qat_cli_recipe(qat, init);
    const auto k = run_tern("train " + dir + "/kd.json --out " + dir + "/kd.safetensors --json");
    ASSERT_EQ(k.code, 0) << k.all();
    const auto j = nlohmann::json::parse(k.out);
    EXPECT_EQ(j["qat"]["layers"].get<int64_t>(), 5);
    EXPECT_EQ(j["qat"]["act_bits"].get<int64_t>(), 4);
    EXPECT_EQ(j["distill"]["loss"].get<std::string>(), "kd");
    const auto e = run_tern("eval " + dir + "/kd.safetensors --data fashion-mnist --json");
    ASSERT_EQ(e.code, 0) << e.all();
    EXPECT_EQ(nlohmann::json::parse(e.out)["accuracy"].get<double>(), j["test_accuracy"].get<double>());

    const auto p = run_tern("train " + dir + "/plain.json --out " + dir + "/plain.safetensors --json");
    ASSERT_EQ(p.code, 0) << p.all();
    const auto a = nn::train::load_classifier(dir + "/kd.safetensors");
    const auto b = nn::train::load_classifier(dir + "/plain.safetensors");
    const auto pa = a.model->parameters(), pb = b.model->parameters();
    ASSERT_EQ(pa.size(), pb.size());
    double diff = 0;
    for (size_t t = 0; t < pa.size(); ++t)
        for (int64_t i = 0; i < pa[t].numel(); ++i) diff += std::fabs(pa[t].data()[i] - pb[t].data()[i]);
    EXPECT_GT(diff, 0.0) << "the teacher's loss did not reach the QAT steps";
    std::filesystem::remove_all(dir);
}

TEST(QatCli, BadRecipesFailWithOneLineAndWriteNothing) {
    const std::string dir = qat_cli_temp_dir();
    const std::string lenet5 = qat_cli_source("models/fmnist-lenet5.safetensors");
    struct Case {
        const char* name;
        std::string qat, init, error;
        bool needs_data;
    };
    const Case cases[] = {
        {"bits 9", R"({"weight_bits": 9})", lenet5, "key 'qat.weight_bits': must be in [2, 8], got 9", false},
        {"method", R"({"method": "dorefa"})", lenet5, "key 'qat.method': 'dorefa' is not one of: ste, lsq, pact", false},
        {"init missing", "{}", dir + "/nope.safetensors", "key 'init': no classifier file '" + dir + "/nope.safetensors'",
         false},
        {"init other model", "{}", qat_cli_source("models/fmnist-lenet300.safetensors"),
         "holds model 'lenet300', the recipe trains 'lenet5'", true},
    };
    for (const Case& c : cases) {
        if (c.needs_data && !tern::testdata::have_fashion_mnist()) continue;
        const std::string path = dir + "/bad.json", out = dir + "/bad.safetensors";
        std::ofstream(path) << qat_cli_recipe(c.qat, c.init);
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
