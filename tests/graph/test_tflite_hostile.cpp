// Hostile TFLite files made at test time: each is refused with one line
// naming the file and the problem, exit 1 (tern info and tern run), and every
// truncation and a few thousand seeded byte mutations of a small net either
// import or fail with a tern::Error (fuzz/fuzz_tflite.cpp does the same without a bound).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "cli/cli_runner.h"
#include "core/error.h"
#include "graph/executor.h"
#include "graph/tflite_import.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "tflite_model_builder.h"

namespace tern::testgraph {
namespace {

// x (1, 4, 4, 2) -> CONV_2D with a (2, 1, 1, 2) weight -> y (1, 4, 4, 2); `edit` spoils one part.
template <class Edit>
std::string conv_net(Edit edit) {
    TfliteFile f;
    f.tensor("x", {1, 4, 4, 2});
    f.floats("w", {2, 1, 1, 2}, {1.f, 0.f, 0.f, 1.f});
    f.tensor("y", {1, 4, 4, 2});
    std::vector<int32_t> conv_inputs{0, 1};
    edit(f, conv_inputs);
    f.op(3, conv_inputs, {2}, tfl::BuiltinOptions::Conv2DOptions, tfl::CreateConv2DOptions(f.fbb, tfl::Padding::SAME, 1, 1));
    return f.finish({0}, {2});
}
std::string good_conv_net() {
    return conv_net([](TfliteFile&, std::vector<int32_t>&) {});
}

// `tern info FILE` must fail with exit 1 and one stderr line holding `want`.
void expect_refused(const std::string& bytes, const std::string& want) {
    testio::TempDir dir;
    const std::string path = save_bytes(bytes, dir.file("bad.tflite"));
    const auto r = testcli::run_tern("info " + path);
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    write_npy(dir.file("x.npy"), Tensor::zeros({1, 4, 4, 2}));
    const auto run = testcli::run_tern("run " + path + " --input " + dir.file("x.npy"));
    EXPECT_EQ(run.code, 1) << run.err;
    EXPECT_NE(run.err.find(want), std::string::npos) << run.err;
}

TEST(TfliteHostile, GoodConvNetRuns) {
    const std::string bytes = good_conv_net();
    const graph::Graph g = graph::import_tflite_bytes(bytes.data(), bytes.size(), "good.tflite");
    const Tensor x = Tensor::from_floats({1, 4, 4, 2}, std::vector<float>(32, 2.f));
    const Tensor y = graph::Executor(g).run({{"x", x}}).at("y");
    ASSERT_EQ(y.shape(), (Shape{1, 4, 4, 2}));
    for (int64_t i = 0; i < 32; ++i) EXPECT_EQ(y.data<float>()[i], 2.f);  // identity weight
}

TEST(TfliteHostile, TruncatedFile) {
    const std::string bytes = good_conv_net();
    expect_refused(bytes.substr(0, bytes.size() / 2), "malformed TFLite file");
}

TEST(TfliteHostile, BadIdentifier) {
    std::string bytes = good_conv_net();
    bytes[4] = 'X';
    expect_refused(bytes, "not a TFLite model (no 'TFL3' file identifier");
}

TEST(TfliteHostile, BufferIndexOutOfRange) {
    expect_refused(conv_net([](TfliteFile& f, std::vector<int32_t>&) { f.tensors[1].buffer_override = 99; }),
                   "tensor 1 ('w') uses buffer 99, but the model has 2 buffers");
}

TEST(TfliteHostile, ShapeDisagreesWithBufferSize) {
    expect_refused(conv_net([](TfliteFile& f, std::vector<int32_t>&) { f.tensors[1].shape = {2, 3, 3, 2}; }),
                   "tensor 1 ('w') has shape [2, 3, 3, 2] (144 bytes of f32) but its buffer 1 holds 16 bytes");
}

TEST(TfliteHostile, HugeDims) {
    expect_refused(conv_net([](TfliteFile& f, std::vector<int32_t>&) { f.tensors[0].shape = {1, 2147483647, 2147483647, 2}; }),
                   "over 2^40 elements");
    expect_refused(conv_net([](TfliteFile& f, std::vector<int32_t>&) { f.tensors[2].shape = {1, -4, 4, 2}; }),
                   "tensor 2 ('y') declares dim -4");
}

TEST(TfliteHostile, OperatorReadsMissingTensor) {
    expect_refused(conv_net([](TfliteFile&, std::vector<int32_t>& ins) { ins[1] = 7; }),
                   "operator 0 (CONV_2D): input 1 refers to tensor 7, but the subgraph has 3 tensors");
}

TEST(TfliteHostile, OutputShapeDisagreesWithOperator) {
    expect_refused(conv_net([](TfliteFile& f, std::vector<int32_t>&) { f.tensors[2].shape = {1, 4, 4, 3}; }),
                   "tensor 'y' declares shape [1, 4, 4, 3], but its operator makes [1, 4, 4, 2]");
}

TEST(TfliteHostile, UnsupportedOpNamesOpAndIndex) {
    TfliteFile f;
    f.tensor("x", {1, 4});
    f.tensor("y", {1, 4});
    f.op(47, {0}, {1});  // EXP
    expect_refused(f.finish({0}, {1}), "operator 0 (EXP): op EXP is not supported by tern");
}

TEST(TfliteHostile, Int8ModelIsRefusedForNow) {
    TfliteFile f;
    f.tensor("x", {1, 4});
    f.tensors[0].type = tfl::TensorType::INT8;
    f.tensor("y", {1, 4});
    f.op(19, {0}, {1});
    expect_refused(f.finish({0}, {1}), "int8-quantized TFLite models are not supported yet");
}

TEST(TfliteHostile, WrongSchemaVersion) {
    TfliteFile f;
    f.version = 2;
    f.tensor("x", {1, 4});
    expect_refused(f.finish({0}, {0}), "TFLite schema version 2; tern reads version 3");
}

// Imports and, when that works, runs on a zero input of the declared shape.
void tflite_hostile_import_and_maybe_run(const std::string& bytes) {
    try {
        const graph::Graph g = graph::import_tflite_bytes(bytes.data(), bytes.size(), "mutant.tflite");
        std::map<std::string, Tensor> feeds;
        for (const auto& name : g.inputs) feeds[name] = Tensor::zeros({1, 4, 4, 2});
        (void)graph::Executor(g).run(feeds);
    } catch (const Error&) {
    }
}

TEST(TfliteHostile, TruncationsAndMutationsAreErrorsNotCrashes) {
    for (const std::string& good : {good_conv_net(), small_tflite_net()}) {
        for (size_t n = 0; n < good.size(); ++n) EXPECT_NO_FATAL_FAILURE(tflite_hostile_import_and_maybe_run(good.substr(0, n)));
        std::mt19937 rng(23);
        for (int i = 0; i < 1500; ++i) {
            std::string m = good;
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits; ++e) m[rng() % m.size()] = static_cast<char>(rng() & 0xff);
            EXPECT_NO_THROW(tflite_hostile_import_and_maybe_run(m)) << "mutation " << i;
        }
    }
}

// The committed seeds (fuzz/make_corpus.py, through flatc) must stay valid, or fuzz_tflite starts from rejected files only.
TEST(TfliteHostile, EveryFuzzSeedImports) {
    const auto dir = std::filesystem::path(TERN_SOURCE_DIR) / "fuzz" / "corpus" / "tflite";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    int seeds = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        EXPECT_NO_THROW(graph::import_tflite_file(e.path().string())) << e.path();
        ++seeds;
    }
    EXPECT_GE(seeds, 1);
}

}  // namespace
}  // namespace tern::testgraph
