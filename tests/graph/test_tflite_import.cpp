// The TFLite importer against TFLite's own interpreter (tflite_reference.h):
// a small net written at test time covering most mapped ops, and the real
// BlazeFace short-range model on a deterministic input; plus the CLI.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "graph/executor.h"
#include "graph/model_file.h"
#include "graph/tflite_import.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "ort_reference.h"
#include "tflite_model_builder.h"
#include "tflite_reference.h"

namespace tern::testgraph {
namespace {

std::string blazeface_path() { return testref::face_detection_dir() + "/face_detection_short_range.tflite"; }

// A smooth deterministic NHWC image in [-1, 1] (BlazeFace's input range).
Tensor wave_image(const Shape& shape) {
    std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.9f * static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
    return Tensor::from_floats(shape, v);
}

// Runs `model` in tern and in TFLite on `input`; every output within 1e-4 relative (1e-4 absolute near zero).
void expect_matches_tflite(const std::string& model, const Tensor& input, const testio::TempDir& dir) {
    write_npy(dir.file("x.npy"), input);
    const auto ref_files = testref::tflite_run(model, {dir.file("x.npy")}, dir.file("tflite"));
    const graph::Graph g = graph::import_tflite_file(model);
    ASSERT_EQ(g.inputs.size(), 1u);
    const auto got = graph::Executor(g).run({{g.inputs[0], input}});
    ASSERT_EQ(ref_files.size(), g.outputs.size());
    for (size_t o = 0; o < g.outputs.size(); ++o) {
        const Tensor expected = read_npy(ref_files[o]);
        const Tensor& y = got.at(g.outputs[o]);
        ASSERT_EQ(y.shape(), expected.shape()) << g.outputs[o];
        double worst = 0;
        for (int64_t i = 0; i < y.numel(); ++i) {
            const double e = expected.data<float>()[i];
            worst = std::max(worst, std::fabs(y.data<float>()[i] - e) / (1.0 + std::fabs(e)));
        }
        EXPECT_LE(worst, 1e-4) << g.outputs[o];
    }
}

TEST(TfliteImport, SmallNetMatchesTfliteInterpreter) {
    TERN_REQUIRE_REFERENCE(testref::tflite_reference());
    testio::TempDir dir;
    const std::string model = save_bytes(small_tflite_net(), dir.file("small.tflite"));
    expect_matches_tflite(model, wave_image({1, 6, 6, 2}), dir);
}

TEST(TfliteImport, BlazeFaceMatchesTfliteInterpreter) {
    TERN_REQUIRE_REFERENCE(testref::file_reference(blazeface_path(), "npm @mediapipe/face_detection: run scripts/setup.sh"));
    TERN_REQUIRE_REFERENCE(testref::tflite_reference());
    testio::TempDir dir;
    expect_matches_tflite(blazeface_path(), wave_image({1, 128, 128, 3}), dir);
}

// Without any reference: the 896 anchors' boxes and scores come out with TFLite's shapes, finite.
TEST(TfliteImport, BlazeFaceOutputsArePlausible) {
    TERN_REQUIRE_REFERENCE(testref::file_reference(blazeface_path(), "npm @mediapipe/face_detection: run scripts/setup.sh"));
    const graph::Graph g = graph::import_tflite_file(blazeface_path());
    ASSERT_EQ(g.inputs, std::vector<std::string>{"input"});
    ASSERT_EQ(g.outputs, (std::vector<std::string>{"regressors", "classificators"}));
    const auto got = graph::Executor(g).run({{"input", wave_image({1, 128, 128, 3})}});
    const Tensor& boxes = got.at("regressors");
    const Tensor& scores = got.at("classificators");
    EXPECT_EQ(boxes.shape(), (Shape{1, 896, 16}));
    EXPECT_EQ(scores.shape(), (Shape{1, 896, 1}));
    for (const Tensor* t : {&boxes, &scores}) {
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < t->numel(); ++i) {
            const float v = t->data<float>()[i];
            ASSERT_TRUE(std::isfinite(v)) << "element " << i;
            lo = std::min(lo, v), hi = std::max(hi, v);
        }
        EXPECT_LT(lo, hi);  // not a constant output
    }
}

TEST(TfliteImport, FileFormatByExtensionOrIdentifier) {
    testio::TempDir dir;
    const std::string bytes = small_tflite_net();
    EXPECT_EQ(graph::graph_file_format(save_bytes(bytes, dir.file("a.tflite"))), graph::GraphFileFormat::tflite);
    EXPECT_EQ(graph::graph_file_format(save_bytes(bytes, dir.file("renamed.bin"))), graph::GraphFileFormat::tflite);
    EXPECT_EQ(graph::graph_file_format(save_bytes("not a model", dir.file("b.bin"))), graph::GraphFileFormat::none);
}

TEST(TfliteCli, InfoAndRunOnASmallNet) {
    testio::TempDir dir;
    const std::string model = save_bytes(small_tflite_net(), dir.file("small.tflite"));
    write_npy(dir.file("x.npy"), wave_image({1, 6, 6, 2}));
    const auto info = testcli::run_tern("info " + model);
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_NE(info.out.find("(TFLite"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("input      x  f32 [1, 6, 6, 2]"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("output     probs  f32 [1, 4]"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("Conv"), std::string::npos) << info.out;
    const auto run = testcli::run_tern("run " + model + " --input " + dir.file("x.npy") + " --output " + dir.file("p.npy") + " --json");
    ASSERT_EQ(run.code, 0) << run.err;
    const auto doc = nlohmann::json::parse(run.out);
    ASSERT_EQ(doc["outputs"].size(), 2u);
    EXPECT_EQ(doc["outputs"][0]["name"], "probs");
    const Tensor p = read_npy(dir.file("p.npy"));
    ASSERT_EQ(p.shape(), (Shape{1, 4}));
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += p.data<float>()[i];
    EXPECT_NEAR(sum, 1.0, 1e-5);  // softmax
}

}  // namespace
}  // namespace tern::testgraph
