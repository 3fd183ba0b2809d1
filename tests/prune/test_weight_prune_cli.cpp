// `tern prune MODEL.safetensors --method magnitude|obd|obs --sparsity S`:
// one-shot fine-grained pruning of a classifier file reaches exactly the
// sparsity in every Conv/Linear weight, leaves the biases alone, writes a
// file tern eval loads, and refuses bad requests with one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "data/fashion_mnist_test_util.h"
#include "io/io_test_util.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"

namespace tern {
namespace {

std::string weight_prune_cli_source(const std::string& rel) { return std::string(TERN_SOURCE_DIR) + "/" + rel; }

// The written file's tensors against the input's: weights at exactly `s` zeros, the rest untouched.
void expect_pruned(const std::string& in, const std::string& out, double s, bool weights_may_move) {
    const auto a = nn::train::load_classifier(in), b = nn::train::load_classifier(out);
    const auto sa = nn::train::module_state(*a.model), sb = nn::train::module_state(*b.model);
    ASSERT_EQ(sa.size(), sb.size());
    for (size_t i = 0; i < sa.size(); ++i) {
        const auto va = sa[i].tensor.to_floats(), vb = sb[i].tensor.to_floats();
        const int rank = sa[i].tensor.rank();
        if (rank != 2 && rank != 4) {
            EXPECT_EQ(va, vb) << sa[i].name;
            continue;
        }
        const int64_t zeros = std::count(vb.begin(), vb.end(), 0.0f);
        EXPECT_EQ(zeros, std::llround(s * double(vb.size()))) << sa[i].name;
        if (!weights_may_move)
            for (size_t k = 0; k < va.size(); ++k)
                if (vb[k] != 0.0f) {
                    EXPECT_EQ(va[k], vb[k]) << sa[i].name << " " << k;
                }
    }
}

TEST(WeightPruneCli, MagnitudeObdAndObsReachTheSparsityAndLoadInEval) {
    REQUIRE_FASHION();
    testio::TempDir dir;
    const std::string in = weight_prune_cli_source("models/fmnist-lenet5.safetensors");
    for (const std::string method : {"magnitude", "obd", "obs"}) {
        SCOPED_TRACE(method);
        const std::string out = dir.file(method + ".safetensors");
        const auto r = testcli::run_tern("prune " + in + " -o " + out + " --method " + method +
                                         " --sparsity 0.6 --calib-images 64 --obd-batch 4 --json -t 2");
        ASSERT_EQ(r.code, 0) << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j["calibration_images"].get<int64_t>(), method == "magnitude" ? 0 : 64);
        EXPECT_NEAR(j["sparsity"].get<double>(), 0.6, 1e-4);
        expect_pruned(in, out, 0.6, method == "obs");  // only OBS moves the weights it keeps
        if (method != "obs") continue;  // one eval keeps the test short
        const auto e = testcli::run_tern("eval " + out + " --data fashion-mnist --json -t 2");
        ASSERT_EQ(e.code, 0) << e.err;
        EXPECT_GT(nlohmann::json::parse(e.out).at("accuracy").get<double>(), 0.85);  // dense 91.65 %
    }
}

TEST(WeightPruneCli, BadRequestsAreOneLineAndWriteNothing) {
    testio::TempDir dir;
    const std::string in = weight_prune_cli_source("models/fmnist-lenet5.safetensors"), out = dir.file("x.safetensors");
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    for (const Case& c : {
             Case{in + " -o " + out + " --method obs --sparsity 1", 2, "[0, 1)"},
             Case{in + " -o " + out + " --method obd --sparsity -0.2", 2, "[0, 1)"},
             Case{in + " -o " + out + " --method obs", 2, "--sparsity"},
             Case{in + " -o " + out + " --method obd --sparsity 0.5 --obd-batch 0", 2, "--obd-batch"},
             Case{in + " -o " + out + " --method obs --pattern 2:4", 2, "fine-grained"},
             Case{in + " -o " + dir.file("x.gguf") + " --method obs --sparsity 0.5", 2, ".safetensors"},
             Case{in + " -o " + in + " --method magnitude --sparsity 0.5", 2, ""},
             Case{dir.file("none.safetensors") + " -o " + out + " --method obd --sparsity 0.5", 1, "none.safetensors"},
         }) {
        SCOPED_TRACE(c.args);
        const auto r = testcli::run_tern("prune " + c.args);
        EXPECT_EQ(r.code, c.code) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_FALSE(std::filesystem::exists(out));
        EXPECT_FALSE(std::filesystem::exists(dir.file("x.gguf")));
    }
}

}  // namespace
}  // namespace tern
