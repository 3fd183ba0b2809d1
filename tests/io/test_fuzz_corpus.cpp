// The committed fuzz seeds (fuzz/corpus/, made by fuzz/make_corpus.py) must stay
// valid inputs, or the fuzzers would start from rejected files only.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/model_info.h"
#include "io_test_util.h"

namespace tern {
namespace {

TEST(FuzzCorpus, EverySeedParses) {
    int seeds = 0;
    for (const char* sub : {"gguf", "safetensors"}) {
        const auto dir = std::filesystem::path(TERN_SOURCE_DIR) / "fuzz" / "corpus" / sub;
        ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            const auto bytes = testio::read_bytes(e.path().string());
            EXPECT_LT(bytes.size(), 10u * 1024) << e.path();
            EXPECT_NO_THROW(model_info_from_bytes(bytes, e.path().string())) << e.path();
            EXPECT_NO_THROW(read_model_info(e.path().string())) << e.path();
            ++seeds;
        }
    }
    EXPECT_GE(seeds, 6);
}

}  // namespace
}  // namespace tern
