#pragma once
// What the `tern quantize --method …` CLI tests share: the embedded tinylm,
// whether the text corpus is installed, and a short test-split perplexity.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_runner.h"
#include "io/text_corpus.h"

namespace tern::quanttest {

inline std::string tinylm() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

inline bool corpus_installed() { return load_text_corpus().missing_sources.empty(); }

// `tern eval MODEL --data text:test` over the first `chunks` windows of `ctx`
// tokens; NaN (and a test failure) when the command fails.
inline double test_split_ppl(const std::string& model, int64_t chunks, int64_t ctx = 256) {
    const auto r = testcli::run_tern("eval " + model + " --data text:test -c " + std::to_string(ctx) + " --chunks " +
                                     std::to_string(chunks) + " --json -t 2");
    EXPECT_EQ(r.code, 0) << r.err;
    if (r.code != 0) return NAN;
    return nlohmann::json::parse(r.out).value("ppl", NAN);
}

}  // namespace tern::quanttest
