#include "nn/train/lm_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/stopwatch.h"
#include "io/text_corpus.h"
#include "nn/data/rng.h"
#include "nn/ops.h"

namespace tern::nn::train {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kEndOfText = "<|endoftext|>";

// Window w of a stream cut into pieces of (context - 1) tokens starting at
// `offset`: inputs BOS, t[s], ..., t[s+T-2]; targets t[s], ..., t[s+T-1].
void fill_window(const std::vector<int32_t>& stream, int64_t start, int64_t context, int32_t bos, int64_t* ids,
                 int64_t* targets) {
    ids[0] = bos;
    for (int64_t j = 0; j < context; ++j) {
        if (j + 1 < context) ids[j + 1] = stream[static_cast<size_t>(start + j)];
        targets[j] = stream[static_cast<size_t>(start + j)];
    }
}

// Next-token top-1 hits of (rows, vocab) logits against targets.
int64_t count_hits(const Tensor& logits, const std::vector<int64_t>& targets) {
    const int64_t rows = logits.dim(0), v = logits.dim(1);
    const float* p = logits.data<float>();
    int64_t hits = 0;
    for (int64_t i = 0; i < rows; ++i) {
        const float* row = p + i * v;
        hits += std::max_element(row, row + v) - row == targets[static_cast<size_t>(i)];
    }
    return hits;
}

uint64_t epoch_seed(uint64_t seed, int64_t epoch) { return data::mix_seed(seed, 3, static_cast<uint64_t>(epoch)); }

}  // namespace

double LmEvalResult::ppl() const { return std::exp(loss); }

LmCorpus prepare_lm_corpus(const Recipe& r) {
    TextCorpusOptions co;
    co.sotu = co.moby_dick = co.gutenberg = co.austen = false;
    for (const auto& s : r.lm.sources) {
        if (s == "sotu") co.sotu = true;
        if (s == "moby-dick") co.moby_dick = true;
        if (s == "gutenberg") co.gutenberg = true;
        if (s == "austen") co.austen = true;
    }
    const TextCorpus corpus = load_text_corpus(co);
    if (!corpus.missing_sources.empty()) {
        std::string list;
        for (const auto& m : corpus.missing_sources) list += (list.empty() ? "" : ", ") + m;
        throw InputError(r.source, "corpus sources not installed: " + list + " (run scripts/setup.sh)");
    }
    CorpusSplits splits = split_corpus(corpus.documents);
    if (splits.train.empty() || splits.validation.empty() || splits.test.empty())
        throw InputError(r.source, "the corpus has too few documents for train / validation / test splits");

    LmCorpus c;
    const auto t0 = Clock::now();
    BpeTrainerOptions bo;
    bo.vocab_size = static_cast<int>(r.lm.vocab_size);
    bo.special_tokens = {kEndOfText};
    c.vocab = train_bpe(splits.train, bo);
    c.tokenizer_seconds = seconds_since(t0);
    if (c.vocab.size() != r.lm.vocab_size)
        throw InputError(r.source, "key 'lm.vocab_size': the training text supports only " +
                                       std::to_string(c.vocab.size()) + " tokens");
    c.bos = c.vocab.special_token_id(kEndOfText);
    const auto t1 = Clock::now();
    const BpeCodec codec(c.vocab);
    c.train = codec.encode(splits.train);
    c.validation = codec.encode(splits.validation);
    c.test = codec.encode(splits.test);
    c.encode_seconds = seconds_since(t1);
    c.train_bytes = static_cast<int64_t>(splits.train.size());
    c.validation_text = std::move(splits.validation);
    c.test_text = std::move(splits.test);
    c.train_docs = std::move(splits.train_docs);
    c.validation_docs = std::move(splits.validation_docs);
    c.test_docs = std::move(splits.test_docs);
    if (r.lm.train_tokens > 0 && r.lm.train_tokens < static_cast<int64_t>(c.train.size()))
        c.train.resize(static_cast<size_t>(r.lm.train_tokens));
    if (static_cast<int64_t>(c.train.size()) < r.lm.context * r.batch_size)
        throw InputError(r.source, "the training split has " + std::to_string(c.train.size()) +
                                       " tokens, fewer than one batch of windows");
    return c;
}

models::LlamaLmConfig lm_config(const Recipe& r) {
    models::LlamaLmConfig c;
    c.vocab = r.lm.vocab_size;
    c.dim = r.lm.dim;
    c.layers = r.lm.layers;
    c.heads = r.lm.heads;
    c.kv_heads = r.lm.kv_heads;
    c.ffn = r.lm.ffn;
    c.context = r.lm.context;
    c.rope_theta = r.lm.rope_theta;
    c.tied_embeddings = r.lm.tied_embeddings;
    c.validate(r.source);
    return c;
}

LmEvalResult evaluate_lm(models::LlamaLM& model, const std::vector<int32_t>& tokens, int32_t bos, int64_t max_tokens,
                         int64_t batch) {
    NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    const int64_t T = model.config().context;
    int64_t n = static_cast<int64_t>(tokens.size());
    if (max_tokens > 0) n = std::min(n, max_tokens);
    const int64_t windows = n >= T ? (n - T) / (T - 1) + 1 : 0;
    LmEvalResult r;
    double loss_sum = 0;
    int64_t hits = 0;
    for (int64_t w0 = 0; w0 < windows; w0 += batch) {
        const int64_t b = std::min(batch, windows - w0);
        std::vector<int64_t> ids(static_cast<size_t>(b * T)), targets(static_cast<size_t>(b * T));
        for (int64_t i = 0; i < b; ++i)
            fill_window(tokens, (w0 + i) * (T - 1), T, bos, ids.data() + i * T, targets.data() + i * T);
        Var logits = model.forward(ids, b, T);
        loss_sum += static_cast<double>(cross_entropy(logits, targets).item()) * static_cast<double>(b * T);
        hits += count_hits(logits.value(), targets);
        r.tokens += b * T;
    }
    if (r.tokens > 0) {
        r.loss = loss_sum / static_cast<double>(r.tokens);
        r.accuracy = static_cast<double>(hits) / static_cast<double>(r.tokens);
    }
    model.train(was_training);
    return r;
}

LmTrainer::LmTrainer(Recipe r, std::shared_ptr<const LmCorpus> corpus) : recipe_(std::move(r)), corpus_(std::move(corpus)) {
    model_ = std::make_shared<models::LlamaLM>(lm_config(recipe_), recipe_.seed);
    optimizer_ = make_optimizer(recipe_.optimizer, model_->parameters());
}

LmTrainer::~LmTrainer() = default;

int64_t LmTrainer::train_tokens() const { return static_cast<int64_t>(corpus_->train.size()); }

int64_t LmTrainer::batches_per_epoch() const {
    // The fewest windows any epoch offset yields, so every epoch has the same steps.
    const int64_t T = recipe_.lm.context;
    const int64_t windows = (train_tokens() - T - (T - 2)) / (T - 1) + 1;
    return std::max<int64_t>(1, windows / recipe_.batch_size);
}

EpochMetrics LmTrainer::train_epoch(const std::function<void(const LmStepReport&)>& on_step) {
    const auto t0 = Clock::now();
    const int64_t epoch = epochs_done();
    const int64_t T = recipe_.lm.context, B = recipe_.batch_size;
    const int64_t spe = batches_per_epoch();
    const uint64_t es = epoch_seed(recipe_.seed, epoch);
    const int64_t offset = static_cast<int64_t>(es % static_cast<uint64_t>(T - 1));
    std::vector<int64_t> starts(static_cast<size_t>(spe * B));
    for (size_t w = 0; w < starts.size(); ++w) starts[w] = offset + static_cast<int64_t>(w) * (T - 1);
    data::shuffle_with_seed(starts, data::mix_seed(es, 1));

    std::vector<int64_t> ids(static_cast<size_t>(B * T)), targets(static_cast<size_t>(B * T));
    EpochLoop loop;
    loop.recipe = &recipe_;
    loop.model = model_.get();
    loop.optimizer = optimizer_.get();
    loop.epoch = epoch;
    loop.steps_per_epoch = spe;
    // The window order is a function of (seed, epoch) alone, so a resumed epoch
    // skips to step resume.steps and draws the same batches.
    loop.resume = resumed_;
    resumed_ = {};
    loop.next_batch = [&](int64_t b) {
        if (b >= spe) return false;
        for (int64_t i = 0; i < B; ++i)
            fill_window(corpus_->train, starts[static_cast<size_t>(b * B + i)], T, corpus_->bos, ids.data() + i * T,
                        targets.data() + i * T);
        return true;
    };
    loop.forward = [&] {
        Var logits = model_->forward(ids, B, T);
        Var loss = cross_entropy(logits, targets);
        return StepLoss{loss, B * T, count_hits(logits.value(), targets)};
    };
    TrainHooks hooks = hooks_;
    if (on_step)
        hooks.on_step_end = [&](StepContext& c) {
            if (hooks_.on_step_end) hooks_.on_step_end(c);
            on_step({c.epoch, c.step, c.steps, c.running_loss, c.running_accuracy,
                     static_cast<double>((c.step - loop.resume.steps) * B * T) / seconds_since(t0)});
        };
    const EpochTotals tot = run_epoch(loop, hooks);
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = tot.lr;
    m.train_loss = tot.loss;
    m.train_accuracy = tot.accuracy;
    const LmEvalResult v = evaluate_lm(*model_, corpus_->validation, corpus_->bos, recipe_.lm.eval_tokens);
    m.val_loss = v.loss;
    m.val_accuracy = v.accuracy;
    m.seconds = loop.resume.seconds + seconds_since(t0);
    history_.push_back(m);
    return m;
}

void LmTrainer::save_resume(const std::string& path, const EpochProgress* in_progress) const {
    save_resume_checkpoint(path, recipe_, *model_, *optimizer_, history_, {}, in_progress);
}

void LmTrainer::load_resume(const std::string& path) {
    history_ = load_resume_checkpoint(path, recipe_, *model_, *optimizer_, &resumed_, batches_per_epoch());
}

}  // namespace tern::nn::train
