#pragma once
// The language-model steps of `tern demo` on the embedded models/tinylm.gguf.
#include <string>

namespace tern::cli {

struct LmDemoResult {
    std::string summary;  // one table cell: perplexity, speed
    std::string sample;   // prompt + generated continuation
};

// Test-split perplexity (llama.cpp's definition, first windows only so the
// demo stays quick), a seeded sample and decode speed. `path` must exist.
LmDemoResult demo_language_model(const std::string& path);

}  // namespace tern::cli
