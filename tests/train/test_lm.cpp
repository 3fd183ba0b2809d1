// Language-model training: the training model (nn::models::LlamaLM) against
// the inference runtime on its exported GGUF, training on the real corpus
// lowering the loss, and exact resumption.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "io/io_test_util.h"
#include "io/text_corpus.h"
#include "llm/forward.h"
#include "llm/model_loader.h"
#include "llm/text_tokenizer.h"
#include "nn/train/lm_export.h"
#include "nn/train/lm_trainer.h"
#include "nn/train/checkpoint.h"
#include "ref/reference.h"

using namespace tern;
using namespace tern::nn;
using namespace tern::nn::train;

namespace {

bool lm_corpus_installed() { return load_text_corpus().missing_sources.empty(); }

// A small real vocabulary: BPE trained on a few addresses of the corpus, or on
// a fixed English paragraph when the corpus is not installed.
BpeVocabulary small_vocab(int vocab_size) {
    std::string text;
    const TextCorpus c = load_text_corpus();
    for (size_t i = 0; i < c.documents.size() && text.size() < 200000; ++i) text += c.documents[i].text;
    if (text.empty())
        for (int i = 0; i < 50; ++i)
            text += "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
                    "must be in want of a wife. The union is strong, and the state of the nation is sound. ";
    BpeTrainerOptions o;
    o.vocab_size = vocab_size;
    return train_bpe(text, o);
}

Recipe lm_tiny_lm_recipe(int64_t epochs) {
    return parse_recipe_json(R"({"model": "llama", "data": "text", "epochs": )" + std::to_string(epochs) + R"(,
      "batch_size": 4, "optimizer": {"name": "adamw", "lr": 0.003, "grad_clip": 1.0},
      "schedule": {"name": "cosine", "warmup_epochs": 0.2},
      "lm": {"vocab_size": 512, "dim": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 64, "context": 32,
             "train_tokens": 6000, "eval_tokens": 3000},
      "seed": 3, "output": "unused.gguf"})",
                             "tiny.json");
}

}  // namespace

TEST(LanguageModel, TrainingModelMatchesTheRuntimeOnItsExport) {
    for (bool tied : {true, false}) {
        models::LlamaLmConfig c;
        c.vocab = 300;
        c.dim = 32;
        c.layers = 2;
        c.heads = 4;
        c.kv_heads = 2;
        c.ffn = 64;
        c.context = 24;
        c.tied_embeddings = tied;
        models::LlamaLM lm(c, 11);
        const BpeVocabulary vocab = small_vocab(300);
        ASSERT_EQ(vocab.size(), 300);
        testio::TempDir dir;
        const std::string path = dir.file("lm.gguf");
        export_lm_gguf(path, lm, vocab, vocab.special_token_id("<|endoftext|>"), DType::f32);

        std::vector<int64_t> ids;
        std::vector<int32_t> ids32;
        for (int64_t t = 0; t < c.context; ++t) {
            ids.push_back((t * 37 + 5) % c.vocab);
            ids32.push_back(static_cast<int32_t>(ids.back()));
        }
        NoGradGuard ng;
        lm.eval();
        const Var want = lm.forward(ids, 1, c.context);
        const auto model = llm::load_model(path);
        llm::Session s(*model, {});
        std::vector<float> got;
        s.eval(ids32, got, true);
        ASSERT_EQ(static_cast<int64_t>(got.size()), want.numel());
        double err = 0, ref = 0;
        for (int64_t i = 0; i < want.numel(); ++i) {
            err = std::max(err, std::abs(double(got[size_t(i)]) - want.data()[i]));
            ref = std::max(ref, std::abs(double(want.data()[i])));
        }
        EXPECT_LT(err, 1e-4 * ref) << "tied " << tied;
        // The exported tokenizer is the trained vocabulary.
        const auto tok = llm::load_text_tokenizer(path);
        const std::string text = "The state of the Union is strong.";
        const auto a = tok->encode(text, false);
        const auto b = BpeCodec(vocab).encode(text);
        EXPECT_EQ(a, b);
    }
}

TEST(LanguageModel, TrainingOnTheCorpusLowersValidationLoss) {
    if (!lm_corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (scripts/setup.sh)";
    const Recipe r = lm_tiny_lm_recipe(2);
    auto corpus = std::make_shared<LmCorpus>(prepare_lm_corpus(r));
    EXPECT_EQ(corpus->vocab.size(), 512);
    EXPECT_EQ(corpus->train.size(), 6000u);
    EXPECT_GT(corpus->validation.size(), 10000u);
    LmTrainer t(r, corpus);
    const LmEvalResult before = evaluate_lm(t.model(), corpus->validation, corpus->bos, 3000);
    EXPECT_NEAR(before.loss, std::log(512.0), 0.3);  // small init: near-uniform predictions
    t.train_epoch();
    const EpochMetrics m = t.train_epoch();
    EXPECT_LT(m.val_loss, before.loss - 0.8) << "validation loss " << before.loss << " -> " << m.val_loss;
    EXPECT_TRUE(t.finished());
}

TEST(LanguageModel, ResumingContinuesExactly) {
    if (!lm_corpus_installed()) TERN_MISSING_REFERENCE() << "text corpus not installed (scripts/setup.sh)";
    const Recipe r = lm_tiny_lm_recipe(2);
    auto corpus = std::make_shared<LmCorpus>(prepare_lm_corpus(r));
    LmTrainer straight(r, corpus);
    straight.train_epoch();
    straight.train_epoch();

    testio::TempDir dir;
    LmTrainer first(r, corpus);
    first.train_epoch();
    first.save_resume(dir.file("resume.safetensors"));
    LmTrainer second(r, corpus);
    second.load_resume(dir.file("resume.safetensors"));
    EXPECT_EQ(second.epochs_done(), 1);
    second.train_epoch();
    const auto a = module_state(straight.model()), b = module_state(second.model());
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
        for (int64_t j = 0; j < a[i].tensor.numel(); ++j)
            ASSERT_EQ(a[i].tensor.data<float>()[j], b[i].tensor.data<float>()[j]) << a[i].name;
    EXPECT_EQ(straight.history().back().val_loss, second.history().back().val_loss);
}
