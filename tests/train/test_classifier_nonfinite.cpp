// Classifier checkpoints holding NaN / Inf are refused at load by tensor name
// (unless allow_nonfinite); evaluating a model whose logits turn non-finite is
// an error, not "10.00 %" (every argmax class 0).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "io/idx.h"
#include "io/io_test_util.h"
#include "io/safetensors.h"
#include "nn/data/image_dataset.h"
#include "nn/models/zoo.h"
#include "nn/train/checkpoint.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"

namespace tern::nn::train {
namespace {

using testcli::run_tern;

int classifier_nonfinite_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// lenet300 with one NaN in its output layer's weights.
std::string write_nan_classifier(const testio::TempDir& dir) {
    auto model = models::make_model("lenet300", 1);
    std::vector<NamedTensor> state;
    for (const auto& t : module_state(*model)) state.push_back({t.name, t.tensor.clone()});
    bool poked = false;
    for (auto& t : state)
        if (t.name == "fc3.weight") {
            t.tensor.data<float>()[42] = std::numeric_limits<float>::quiet_NaN();
            poked = true;
        }
    EXPECT_TRUE(poked) << "no fc3.weight in lenet300";
    const std::string path = dir.file("nan.safetensors");
    io::write_safetensors(path, state, {{"tern.model", "lenet300"}, {"tern.format", "classifier-v1"}});
    return path;
}

TEST(ClassifierNonfinite, NanWeightIsRefusedByNameAndNanLogitsStopEvaluate) {
    testio::TempDir dir;
    const std::string path = write_nan_classifier(dir);
    try {
        load_classifier(path);
        FAIL() << "NaN classifier accepted";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "[" + path + "] tensor 'fc3.weight' holds 1 non-finite value (the first, NaN, "
                                                      "at element 42); --allow-nonfinite loads it anyway");
    }
    ClassifierLoadOptions allow;
    allow.allow_nonfinite = true;
    const ClassifierFile c = load_classifier(path, allow);
    Tensor images = Tensor::zeros({4, 28, 28}, DType::u8);
    const data::ImageDataset ds = data::make_image_dataset(images, {0, 1, 2, 3}, 10, data::fashion_mnist_normalization());
    EXPECT_THROW(evaluate(*c.model, ds), InputError);
    data::ImageDataset empty = ds;
    empty.images = Tensor::zeros({0, 1, 28, 28});
    empty.labels.clear();
    EXPECT_THROW(evaluate(*load_classifier(std::string(TERN_SOURCE_DIR) + "/models/fmnist-lenet300.safetensors").model, empty),
                 InputError);
}

TEST(ClassifierNonfinite, EvalCliRefusesThenStops) {
    testio::TempDir dir;
    const std::string path = write_nan_classifier(dir);
    Tensor images = Tensor::zeros({6, 28, 28}, DType::u8);
    Tensor labels = Tensor::zeros({6}, DType::u8);
    write_idx(dir.file("t10k-images-idx3-ubyte.gz"), images);
    write_idx(dir.file("t10k-labels-idx1-ubyte.gz"), labels);
    const std::string cmd = "eval " + path + " --data-dir " + dir.path() + " -t 1";
    const auto refused = run_tern(cmd);
    EXPECT_EQ(refused.code, 1) << refused.out << refused.err;
    EXPECT_EQ(classifier_nonfinite_lines(refused.err), 1) << refused.err;
    EXPECT_NE(refused.err.find("tensor 'fc3.weight' holds 1 non-finite value"), std::string::npos) << refused.err;
    const auto stopped = run_tern(cmd + " --allow-nonfinite");
    EXPECT_EQ(stopped.code, 1) << stopped.out << stopped.err;
    EXPECT_EQ(classifier_nonfinite_lines(stopped.err), 1) << stopped.err;
    EXPECT_NE(stopped.err.find("[" + path + "] the model's logits for images [0, 6) are NaN or Inf"), std::string::npos)
        << stopped.err;
    EXPECT_EQ(stopped.out.find("accuracy"), std::string::npos) << stopped.out;
}

}  // namespace
}  // namespace tern::nn::train
