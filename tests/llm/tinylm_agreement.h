#pragma once
// tern's LLM runtime and llama.cpp on the same GGUF file and the same token
// windows: next-token argmax agreement at every position, and perplexity in
// llama.cpp's definition (BOS overwrites each window's first token; the second
// half of each window is scored) from each side's own logits.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "io/text_corpus.h"
#include "llm/forward.h"
#include "llm/model_loader.h"
#include "ref/llama_ref.h"

namespace tern::llm::test {

inline std::string tinylm_path() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

// The test split of the corpus the model was trained on ("" when not installed).
inline std::string corpus_test_text() {
    const TextCorpus c = load_text_corpus();
    if (!c.missing_sources.empty()) return "";
    return split_corpus(c.documents).test;
}

struct Agreement {
    int64_t positions = 0, argmax_equal = 0, scored = 0;
    double nll_tern = 0, nll_llama = 0;
    double argmax_rate() const { return positions ? double(argmax_equal) / double(positions) : 0; }
    double ppl_tern() const { return std::exp(nll_tern / double(scored)); }
    double ppl_llama() const { return std::exp(nll_llama / double(scored)); }
};

inline double nll_of(const float* row, int64_t n, int32_t target) {
    const float mx = *std::max_element(row, row + n);
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::exp(double(row[j]) - mx);
    return std::log(s) + mx - row[target];
}

inline Agreement compare_with_llama_cpp(const std::string& gguf, const std::vector<int32_t>& tokens, int64_t ctx,
                                        int64_t max_windows, const LoadOptions& load = {}) {
    const auto model = load_model(gguf, load);
    SessionOptions so;
    so.n_ctx = ctx;
    so.kv_type = ops::KvType::f16;  // llama.cpp's default cache type
    Session session(*model, so);
    testref::LlamaCpp ref(gguf);
    const int64_t V = session.n_vocab();
    Agreement a;
    std::vector<float> mine;
    const int64_t windows = std::min<int64_t>(max_windows, static_cast<int64_t>(tokens.size()) / ctx);
    for (int64_t w = 0; w < windows; ++w) {
        std::vector<int32_t> win(tokens.begin() + w * ctx, tokens.begin() + (w + 1) * ctx);
        win[0] = ref.bos();
        session.reset();
        session.eval(win, mine, true);
        const std::vector<float> theirs = ref.logits(win);
        for (int64_t i = 0; i + 1 < ctx; ++i) {
            const float* m = mine.data() + i * V;
            const float* t = theirs.data() + i * V;
            a.argmax_equal += (std::max_element(m, m + V) - m) == (std::max_element(t, t + V) - t);
            ++a.positions;
            if (i >= ctx / 2) {
                a.nll_tern += nll_of(m, V, win[static_cast<size_t>(i + 1)]);
                a.nll_llama += nll_of(t, V, win[static_cast<size_t>(i + 1)]);
                ++a.scored;
            }
        }
    }
    return a;
}

// The files and arithmetic the agreement tests run: each GGUF format, and the
// f16 file once more with --fpmath bf16 (prefill GEMMs on bf16-rounded operands).
struct TinyLmVariant {
    const char* label;
    const char* format;
    ops::FloatMath math;
};
inline constexpr TinyLmVariant kTinyLmVariants[] = {{"f16", "f16", ops::FloatMath::exact},
                                                    {"f16+bf16", "f16", ops::FloatMath::bf16},
                                                    {"q8_0", "q8_0", ops::FloatMath::exact},
                                                    {"q4_0", "q4_0", ops::FloatMath::exact},
                                                    {"q4_k_m", "q4_k_m", ops::FloatMath::exact}};

// The model file for `format`: the committed f16 file itself, or a copy made
// by `tern quantize` into `dir` (q8_0, q4_0, q4_k_m, ...). Empty on failure,
// with the command's output in `error`.
inline std::string tinylm_variant(const std::string& format, const std::string& dir, std::string& error) {
    if (format == "f16") return tinylm_path();
    const std::string path = dir + "/tinylm-" + format + ".gguf";
    const auto r = testcli::run_tern("quantize " + tinylm_path() + " -o " + path + " --format " + format);
    if (r.code != 0) {
        error = r.all();
        return "";
    }
    return path;
}

}  // namespace tern::llm::test
