// The language-model half of `tern train` (recipes with "data": "text"):
// prepares the corpus and tokenizer, trains a LlamaLM epoch by epoch with the
// same resume / metrics / plot files as classifier runs, then measures the
// test split and exports the model as GGUF (<out>) plus the tokenizer as a
// Hugging Face tokenizer.json (<out>.tokenizer.json).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/train_report.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "core/version.h"
#include "nn/train/lm_export.h"
#include "nn/train/lm_trainer.h"

namespace tern::cli {

using namespace tern::nn::train;

void run_train_lm(const Recipe& r, const TrainCliOptions& o) {
    const auto weight_type = dtype_from_name(r.lm.gguf_type);
    if (!weight_type) throw InputError(r.source, "key 'lm.gguf_type': unknown type '" + r.lm.gguf_type + "'");
    const std::string resume_path = r.output + ".resume.safetensors";
    const std::string csv_path = r.output + ".metrics.csv";
    const std::string png_path = r.output + ".metrics.png";
    const std::string tokenizer_path = r.output + ".tokenizer.json";
    FILE* log = o.json ? stderr : stdout;

    auto corpus = std::make_shared<LmCorpus>(prepare_lm_corpus(r));
    std::fprintf(log,
                 "corpus: %zu train / %zu validation / %zu test documents; tokenizer %lld tokens trained on %.1f MB "
                 "in %.1fs; %zu / %zu / %zu tokens (encoded in %.1fs)\n",
                 corpus->train_docs.size(), corpus->validation_docs.size(), corpus->test_docs.size(),
                 static_cast<long long>(corpus->vocab.size()), static_cast<double>(corpus->train_bytes) / 1e6,
                 corpus->tokenizer_seconds, corpus->train.size(), corpus->validation.size(), corpus->test.size(),
                 corpus->encode_seconds);
    LmTrainer trainer(r, corpus);
    if (!o.resume.empty()) {
        trainer.load_resume(o.resume);
        if (trainer.epochs_done() > r.epochs)
            throw InputError(o.resume, "checkpoint has " + std::to_string(trainer.epochs_done()) +
                                           " epochs, more than the " + std::to_string(r.epochs) + " asked for");
    }
    std::fprintf(log, "train llama LM: %lld parameters, context %lld, batch %lld, %lld epochs x %lld steps, %d threads\n",
                 static_cast<long long>(trainer.model().parameter_count()), static_cast<long long>(r.lm.context),
                 static_cast<long long>(r.batch_size), static_cast<long long>(r.epochs),
                 static_cast<long long>(trainer.batches_per_epoch()), default_thread_count());
    log_resume(log, o.resume, trainer.epochs_done());

    const RunEta eta(trainer.epochs_done(), r.epochs);
    while (!trainer.finished()) {
        const int64_t e = trainer.epochs_done() + 1;
        Progress bar("epoch " + std::to_string(e) + "/" + std::to_string(r.epochs), trainer.batches_per_epoch());
        const EpochMetrics m = trainer.train_epoch([&](const LmStepReport& s) {
            char status[160];
            std::snprintf(status, sizeof status, "loss %.3f ppl %.1f acc %.1f%% %.0f tok/s | run eta %s", s.loss,
                          std::exp(s.loss), 100 * s.accuracy, s.tokens_per_second,
                          eta.left(e, s.batch, s.batches).c_str());
            bar.update(s.batch, status);
        });
        bar.finish();
        std::fprintf(log, "epoch %3lld/%lld  lr %.5f  train loss %.4f ppl %.2f  val loss %.4f ppl %.2f acc %s  %.1fs\n",
                     static_cast<long long>(m.epoch), static_cast<long long>(r.epochs), m.lr, m.train_loss,
                     std::exp(m.train_loss), m.val_loss, std::exp(m.val_loss), pct(m.val_accuracy).c_str(), m.seconds);
        std::fflush(log);
        if (!trainer.finished()) trainer.save_resume(resume_path);
        write_text_file(csv_path, history_csv(trainer.history()));
        write_plot(png_path, trainer.history());
    }
    double train_seconds = 0;
    for (const auto& m : trainer.history()) train_seconds += m.seconds;

    const LmEvalResult test = evaluate_lm(trainer.model(), corpus->test, corpus->bos);
    const EpochMetrics& last = trainer.history().back();
    std::map<std::string, std::string> meta;
    meta["tern.recipe"] = recipe_to_json(r).dump();
    meta["tern.epochs"] = std::to_string(trainer.epochs_done());
    meta["tern.val_ppl"] = std::to_string(std::exp(last.val_loss));
    meta["tern.test_ppl"] = std::to_string(test.ppl());
    meta["tern.train_tokens"] = std::to_string(trainer.train_tokens());
    meta["tern.train_seconds"] = std::to_string(train_seconds);
    meta["tern.threads"] = std::to_string(default_thread_count());
    meta["tern.version"] = kTernVersion;
    export_lm_gguf(r.output, trainer.model(), corpus->vocab, corpus->bos, *weight_type, meta);
    write_tokenizer_json(tokenizer_path, corpus->vocab);
    std::error_code ec;
    std::filesystem::remove(resume_path, ec);

    if (o.json) {
        Json j;
        j["model"] = r.model;
        j["output"] = r.output;
        j["tokenizer"] = tokenizer_path;
        j["epochs"] = trainer.epochs_done();
        j["parameters"] = trainer.model().parameter_count();
        j["train_tokens"] = trainer.train_tokens();
        j["val_loss"] = last.val_loss;
        j["val_ppl"] = std::exp(last.val_loss);
        j["test_loss"] = test.loss;
        j["test_ppl"] = test.ppl();
        j["test_tokens"] = test.tokens;
        j["train_seconds"] = train_seconds;
        j["threads"] = default_thread_count();
        j["metrics_csv"] = csv_path;
        j["plot_png"] = png_path;
        j["history"] = history_json(trainer.history());
        print_json(j);
        return;
    }
    std::printf("test (%lld tokens, every position, context %lld): loss %.4f ppl %.2f next-token acc %s\n",
                static_cast<long long>(test.tokens), static_cast<long long>(r.lm.context), test.loss, test.ppl(),
                pct(test.accuracy).c_str());
    std::printf("wrote %s, %s, %s, %s (training %s)\n", r.output.c_str(), tokenizer_path.c_str(), csv_path.c_str(),
                png_path.c_str(), fmt_duration(train_seconds).c_str());
}

}  // namespace tern::cli
