#pragma once
// Language-model training from a Recipe with data "text": the corpus of
// io/text_corpus.h split by document, a byte-level BPE tokenizer trained on the
// training split only, and a LlamaLM trained on windows of the token stream.
//
// A training window is BOS followed by context-1 text tokens from anywhere in
// the stream; the model predicts every next token. Each epoch starts the
// windows at a seeded offset and visits them in a seeded order, so a run is
// reproducible for a given seed and thread count, and resuming from an epoch
// checkpoint continues exactly. BOS at the head of every window is what
// llama.cpp's perplexity tool does to each of its windows, so training and the
// usual evaluation see the same kind of input.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/bpe_trainer.h"
#include "nn/models/llama_lm.h"
#include "nn/optim/optimizer.h"
#include "nn/train/recipe.h"
#include "nn/train/train_loop.h"
#include "nn/train/training_run.h"

namespace tern::nn::train {

struct LmCorpus {
    BpeVocabulary vocab;
    int32_t bos = 0;  // the vocabulary's <|endoftext|>
    std::vector<int32_t> train, validation, test;
    std::string validation_text, test_text;
    std::vector<std::string> train_docs, validation_docs, test_docs;
    int64_t train_bytes = 0;
    double tokenizer_seconds = 0, encode_seconds = 0;
};

// Loads the recipe's corpus sources (all must be installed: scripts/setup.sh),
// splits them by document (5 % validation, 5 % test), trains the tokenizer on
// the training split and encodes all three splits.
LmCorpus prepare_lm_corpus(const Recipe& r);

models::LlamaLmConfig lm_config(const Recipe& r);

struct LmEvalResult {
    double loss = 0;      // mean next-token cross-entropy (nats)
    double accuracy = 0;  // next-token top-1
    int64_t tokens = 0;   // predictions scored
    double ppl() const;
};

// Mean next-token loss over consecutive windows (BOS + context-1 tokens) of
// `tokens`, every position scored; `max_tokens` > 0 stops after that many.
LmEvalResult evaluate_lm(models::LlamaLM& model, const std::vector<int32_t>& tokens, int32_t bos,
                         int64_t max_tokens = 0, int64_t batch = 8);

struct LmStepReport {
    int64_t epoch = 0, batch = 0, batches = 0;
    double loss = 0, accuracy = 0;  // running over the epoch
    double tokens_per_second = 0;
};

class LmTrainer {
public:
    LmTrainer(Recipe r, std::shared_ptr<const LmCorpus> corpus);
    ~LmTrainer();

    // Trains one epoch and validates (val_loss is the mean NLL; ppl = exp).
    EpochMetrics train_epoch(const std::function<void(const LmStepReport&)>& on_step = {});
    bool finished() const { return epochs_done() >= recipe_.epochs; }
    int64_t epochs_done() const { return static_cast<int64_t>(history_.size()); }
    const std::vector<EpochMetrics>& history() const { return history_; }
    const Recipe& recipe() const { return recipe_; }
    models::LlamaLM& model() { return *model_; }
    const LmCorpus& corpus() const { return *corpus_; }
    int64_t batches_per_epoch() const;
    int64_t train_tokens() const;

    // Hooks every later train_epoch runs (QAT, distillation, pruning schedules).
    void set_hooks(TrainHooks hooks) { hooks_ = std::move(hooks); }

    // `in_progress`: a mid-epoch checkpoint of epoch epochs_done() + 1 (from a
    // hook's StepContext::progress); null: at the epoch boundary.
    void save_resume(const std::string& path, const EpochProgress* in_progress = nullptr) const;
    void load_resume(const std::string& path);
    // Where the next train_epoch starts (steps 0 unless a mid-epoch checkpoint was loaded).
    const EpochProgress& resumed_progress() const { return resumed_; }

private:
    Recipe recipe_;
    std::shared_ptr<const LmCorpus> corpus_;
    std::shared_ptr<models::LlamaLM> model_;
    std::unique_ptr<Optimizer> optimizer_;
    std::vector<EpochMetrics> history_;
    TrainHooks hooks_;
    EpochProgress resumed_;
};

}  // namespace tern::nn::train
