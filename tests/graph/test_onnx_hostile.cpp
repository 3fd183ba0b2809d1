// Hostile ONNX bytes made at test time: every truncation and a few thousand
// seeded byte mutations of a small CNN either import or fail with a
// tern::Error, never a crash or another exception (the fuzz target,
// fuzz/fuzz_onnx.cpp, does the same without a bound).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "core/error.h"
#include "graph/executor.h"
#include "graph/onnx_import.h"
#include "io/npy.h"
#include "onnx_model_builder.h"

namespace tern::testgraph {
namespace {

// Imports and, when that works, runs on a zero input of the declared shape.
void onnx_hostile_import_and_maybe_run(const std::string& bytes) {
    try {
        const graph::Graph g = graph::import_onnx_bytes(bytes.data(), bytes.size(), "mutant.onnx");
        std::map<std::string, Tensor> feeds;
        for (const auto& name : g.inputs) feeds[name] = Tensor::zeros({1, 2, 4, 4});
        (void)graph::Executor(g).run(feeds);
    } catch (const Error&) {
    }
}

TEST(OnnxHostile, TruncationsAndMutationsAreErrorsNotCrashes) {
    std::string good;
    ASSERT_TRUE(small_cnn().SerializeToString(&good));
    for (size_t n = 0; n < good.size(); ++n) EXPECT_NO_FATAL_FAILURE(onnx_hostile_import_and_maybe_run(good.substr(0, n)));
    std::mt19937 rng(23);
    for (int i = 0; i < 3000; ++i) {
        std::string m = good;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) m[rng() % m.size()] = static_cast<char>(rng() & 0xff);
        EXPECT_NO_THROW(onnx_hostile_import_and_maybe_run(m)) << "mutation " << i;
    }
}

// The committed seeds (fuzz/make_corpus.py) must stay valid, or the fuzzers start from rejected files only.
TEST(OnnxHostile, EveryFuzzSeedParses) {
    int seeds = 0;
    for (const char* sub : {"onnx", "npy"}) {
        const auto dir = std::filesystem::path(TERN_SOURCE_DIR) / "fuzz" / "corpus" / sub;
        ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            if (std::string(sub) == "onnx") EXPECT_NO_THROW(graph::import_onnx_file(e.path().string())) << e.path();
            else EXPECT_NO_THROW(read_npy(e.path().string())) << e.path();
            ++seeds;
        }
    }
    EXPECT_GE(seeds, 5);
}

}  // namespace
}  // namespace tern::testgraph
