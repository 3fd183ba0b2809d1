// End to end on the Fashion-MNIST test split: a short LSQ W4A8 QAT of the
// committed LeNet-5, `tern export` to integer-only QDQ, and the exported
// model's accuracy in tern's integer runtime and in ONNX Runtime equals the
// fake-quant model's within 0.1 pt (issue 24 item 2). Small scale trains on a
// 4,096-image slice; full scale one epoch of the training split.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "export_test_util.h"
#include "graph/ort_reference.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "long_scale.h"
#include "ref/reference.h"

namespace tern::testinterop {
namespace {

double eval_accuracy(const std::string& model) {
    const auto r = testcli::run_tern("eval " + model + " --data fashion-mnist --json");
    EXPECT_EQ(r.code, 0) << r.all();
    return r.code == 0 ? nlohmann::json::parse(r.out)["accuracy"].get<double>() : -1;
}

TEST(QatExportLong, IntegerAndOnnxRuntimeAccuracyEqualTheFakeQuantModels) {
    TERN_REQUIRE_REFERENCE(testref::ort_reference());
    if (!have_fashion_mnist()) TERN_MISSING_REFERENCE() << "dataset-fashion-mnist not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    const std::string recipe = dir.file("r.json"), qat = dir.file("qat.safetensors"), onnx = dir.file("qat.onnx");
    std::ofstream(recipe) << R"({"model": "lenet5", "epochs": 1, "batch_size": 64, "validation": 1000, "seed": 1,
        "train_subset": )" << (testscale::long_scale_small() ? 4096 : 0) << R"(,
        "optimizer": {"name": "sgd", "lr": 0.005, "momentum": 0.9}, "schedule": {"name": "cosine"},
        "init": ")" << model_path("fmnist-lenet5") << R"(",
        "qat": {"method": "lsq", "weight_bits": 4, "act_bits": 8, "calibration_batches": 4}})";
    const auto t = testcli::run_tern("train " + recipe + " --out " + qat + " -t 1");
    ASSERT_EQ(t.code, 0) << t.all();
    const auto x = testcli::run_tern("export " + qat + " -o " + onnx);
    ASSERT_EQ(x.code, 0) << x.all();
    const double fake = eval_accuracy(qat), integer = eval_accuracy(onnx);

    const data::ImageDataset ds = fashion_test_images(0);
    write_npy(dir.file("images.npy"), ds.images);
    const auto r = testref::ort_run(onnx, {{"image", dir.file("images.npy")}}, dir.file("ort"));
    ASSERT_EQ(r.outputs.size(), 1u);
    const double ort = accuracy(predictions(read_npy(r.outputs[0].file)), ds.labels);
    std::printf("lenet5 LSQ W4A8 QAT, test split: fake-quant %.2f %%, integer %.2f %%, ONNX Runtime %.2f %%\n", 100 * fake,
                100 * integer, 100 * ort);
    EXPECT_NEAR(integer, fake, 0.001);
    EXPECT_NEAR(ort, fake, 0.001);
}

}  // namespace
}  // namespace tern::testinterop
