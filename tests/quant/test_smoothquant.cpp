// SmoothQuant's smoothing on its own: dividing the norms (and the preceding
// Linear's rows) by s and multiplying the weight columns by s leaves the float
// model's logits where they were; and the factor formula on a hand example.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "io/gguf_reader.h"
#include "io/io_test_util.h"
#include "io/text_corpus.h"
#include "llm/forward.h"
#include "llm/hf_to_gguf.h"
#include "llm/model_loader.h"
#include "quant/smoothquant.h"
#include "ref/reference.h"

namespace tern::quant {
namespace {

std::string smoothquant_tinylm() { return std::string(TERN_SOURCE_DIR) + "/models/tinylm.gguf"; }

TEST(SmoothQuant, FactorsFollowThePaper) {
    // s_j = max|X_j|^a / max|W_j|^(1-a), W's max over the rows of every Linear reading X.
    const std::vector<float> x = {4.0f, 0.25f, 0.0f};
    const std::vector<float> w1 = {1.0f, -0.5f, 2.0f, /**/ 0.5f, 0.25f, 1.0f};  // (2, 3)
    const std::vector<float> w2 = {-16.0f, 0.0f, 0.0f};                        // (1, 3)
    const std::vector<std::span<const float>> ws = {w1, w2};
    const std::vector<float> s = smoothquant_scales(x, ws, 3, 0.5);
    EXPECT_FLOAT_EQ(s[0], 2.0f / 4.0f);              // sqrt(4) / sqrt(16)
    EXPECT_FLOAT_EQ(s[1], 0.5f / std::sqrt(0.5f));   // sqrt(0.25) / sqrt(0.5)
    EXPECT_EQ(s[2], 1.0f) << "a channel that never fires keeps s = 1";
    EXPECT_FLOAT_EQ(smoothquant_scales(x, ws, 3, 1.0)[0], 4.0f);
}

// Every 2-D weight of the model as f32, so both runs take the same exact f32 path.
void all_weights_to_f32(WorkModel& wm, const TensorModel& m) {
    for (size_t i = 0; i < m.tensors.size(); ++i)
        if (m.tensors[i].tensor.rank() == 2) wm.floats(static_cast<int>(i));
}

std::vector<float> smoothquant_logits_of(const std::string& path, std::span<const int32_t> tokens) {
    llm::LoadOptions lo;
    lo.float_math = ops::FloatMath::exact;
    const auto model = llm::load_model(path, lo);
    llm::Session s(*model, {});
    std::vector<float> logits;
    s.eval(tokens, logits, /*all_logits=*/true);
    return logits;
}

TEST(SmoothQuant, SmoothingLeavesTheFloatModelsLogitsUnchanged) {
    if (!load_text_corpus().missing_sources.empty())
        TERN_MISSING_REFERENCE() << "text corpus not installed (run scripts/setup.sh)";
    testio::TempDir dir;
    io::GgufModel g = io::read_gguf(smoothquant_tinylm());
    TensorModel m;
    m.gguf_metadata = g.info.metadata;
    m.tensors = g.tensors;
    m.is_llm = true;
    QuantRecipe r;
    r.method = "smoothquant";
    r.calibration.model = smoothquant_tinylm();
    r.calibration.calib = "text:train";
    r.calibration.n_tokens = 256;
    r.calibration.ctx = 128;
    const LinearStatistics st = calibrate_linears(m, r, {.absmax = true});

    WorkModel plain(m), smoothed(m);
    all_weights_to_f32(plain, m);
    all_weights_to_f32(smoothed, m);
    std::vector<std::string> notes;
    const auto applied = smooth_model(smoothed, *st.collector, r, 0.5, notes);
    // q, k, v, gate, up, down in each of 4 layers (attn_output is GQA-shaped: v has fewer rows).
    EXPECT_EQ(applied.size(), 4u * 6u);
    float spread = 1.0f;  // the factors must really move something
    for (const auto& [i, s] : applied) spread = std::max(spread, *std::max_element(s.begin(), s.end()) /
                                                                     *std::min_element(s.begin(), s.end()));
    EXPECT_GT(spread, 4.0f);

    const std::string a = dir.file("plain.gguf"), b = dir.file("smoothed.gguf");
    const TensorModel pm = plain.changed_model(), sm = smoothed.changed_model();
    llm::write_model_gguf(a, pm.gguf_metadata, pm.tensors);
    llm::write_model_gguf(b, sm.gguf_metadata, sm.tensors);
    std::vector<int32_t> tokens(48);
    for (size_t t = 0; t < tokens.size(); ++t) tokens[t] = static_cast<int32_t>((t * 977 + 13) % 4000);
    const std::vector<float> la = smoothquant_logits_of(a, tokens), lb = smoothquant_logits_of(b, tokens);
    ASSERT_EQ(la.size(), lb.size());
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < la.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(double(la[i]) - lb[i]));
        max_abs = std::max(max_abs, std::fabs(double(la[i])));
    }
    EXPECT_LT(max_diff / max_abs, 1e-4) << "max |diff| " << max_diff << " of max |logit| " << max_abs;
}

}  // namespace
}  // namespace tern::quant
