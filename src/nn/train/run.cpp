#include "nn/train/run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/output_path.h"
#include "core/thread_pool.h"
#include "core/version.h"
#include "core/stopwatch.h"
#include "nn/train/lm_export.h"
#include "nn/train/lm_trainer.h"
#include "nn/train/model_file.h"
#include "nn/train/run_report.h"
#include "nn/train/trainer.h"

namespace tern::nn::train {
namespace {

using Clock = std::chrono::steady_clock;

struct RunPaths {
    std::string resume, csv, png, tokenizer;
    explicit RunPaths(const std::string& out)
        : resume(out + ".resume.safetensors"), csv(out + ".metrics.csv"), png(out + ".metrics.png"),
          tokenizer(out + ".tokenizer.json") {}
};

void log(const RunOptions& o, const std::string& line) {
    if (o.callbacks.log) o.callbacks.log(line);
}

// Loads the --resume checkpoint and refuses one that is past the run's end.
template <class TrainerT>
void resume_from(TrainerT& trainer, const Recipe& r, const std::string& path) {
    if (path.empty()) return;
    trainer.load_resume(path);
    if (trainer.epochs_done() > r.epochs)
        throw InputError(path, "checkpoint has " + std::to_string(trainer.epochs_done()) + " epochs, more than the " +
                                   std::to_string(r.epochs) + " asked for");
    if (trainer.resumed_progress().steps > 0 && trainer.epochs_done() >= r.epochs)
        throw InputError(path, "checkpoint is inside epoch " + std::to_string(trainer.epochs_done() + 1) +
                                   ", past the " + std::to_string(r.epochs) + " asked for");
}

template <class TrainerT>
void log_resume(const RunOptions& o, const TrainerT& trainer) {
    const int64_t steps = trainer.resumed_progress().steps;
    if (steps > 0)
        log(o, format("resumed from %s in epoch %lld after step %lld of %lld\n", o.resume.c_str(),
                      static_cast<long long>(trainer.epochs_done() + 1), static_cast<long long>(steps),
                      static_cast<long long>(trainer.batches_per_epoch())));
    else if (trainer.epochs_done() > 0)
        log(o, format("resumed from %s after epoch %lld\n", o.resume.c_str(), static_cast<long long>(trainer.epochs_done())));
}

// The epoch loop both trainers share. `status` formats a step report for the
// progress callback, `epoch_line` an epoch's log line.
template <class TrainerT, class StatusFn, class LineFn>
void train_epochs(TrainerT& trainer, const Recipe& r, const TrainHooks& hooks, const RunOptions& o,
                  const RunPaths& paths, StatusFn status, LineFn epoch_line) {
    const int64_t spe = trainer.batches_per_epoch();
    const RunEta eta(static_cast<double>(trainer.epochs_done()) +
                         static_cast<double>(trainer.resumed_progress().steps) / static_cast<double>(spe),
                     r.epochs);
    auto last_checkpoint = Clock::now();
    auto epoch_start = Clock::now();
    TrainHooks with_checkpoints = hooks;
    with_checkpoints.on_step_end = [&](StepContext& c) {
        if (hooks.on_step_end) hooks.on_step_end(c);
        if (c.step >= c.steps) return;  // the epoch-boundary checkpoint follows
        const bool by_steps = o.checkpoint_every_steps > 0 && c.step % o.checkpoint_every_steps == 0;
        const bool by_time = o.checkpoint_minutes > 0 && seconds_since(last_checkpoint) >= 60 * o.checkpoint_minutes;
        if (!by_steps && !by_time) return;
        EpochProgress p = c.progress;
        p.seconds += seconds_since(epoch_start);
        trainer.save_resume(paths.resume, &p);
        last_checkpoint = Clock::now();
    };
    trainer.set_hooks(with_checkpoints);
    while (!trainer.finished()) {
        const int64_t e = trainer.epochs_done() + 1;
        if (o.callbacks.epoch_begin) o.callbacks.epoch_begin(e, r.epochs, spe);
        epoch_start = Clock::now();
        const EpochMetrics m = trainer.train_epoch([&](const auto& s) {
            if (o.callbacks.step) o.callbacks.step(s.batch, status(s) + eta.left(e, s.batch, s.batches));
        });
        if (o.callbacks.epoch_end) o.callbacks.epoch_end();
        log(o, epoch_line(m));
        if (!trainer.finished()) trainer.save_resume(paths.resume);
        write_text_file(paths.csv, history_csv(trainer.history()));
        write_plot(paths.png, trainer.history());
        last_checkpoint = Clock::now();
    }
}

double total_seconds(const std::vector<EpochMetrics>& history) {
    double s = 0;
    for (const auto& m : history) s += m.seconds;
    return s;
}

RunResult run_classifier(const Recipe& r, const TrainHooks& hooks, const RunOptions& o, const RunPaths& paths) {
    TrainData data = load_train_data(r);
    const data::ImageDataset test = load_test_data(r.data, r.data_dir);
    Trainer trainer(r, data);
    resume_from(trainer, r, o.resume);
    log(o, format("train %s on %s: %lld train / %lld validation images, %lld parameters, %lld epochs x %lld steps, %d "
                  "threads\n",
                  r.model.c_str(), r.data.c_str(), static_cast<long long>(data.train->size()),
                  static_cast<long long>(data.validation ? data.validation->size() : 0),
                  static_cast<long long>(trainer.model().parameter_count()), static_cast<long long>(r.epochs),
                  static_cast<long long>(trainer.batches_per_epoch()), default_thread_count()));
    log_resume(o, trainer);
    train_epochs(
        trainer, r, hooks, o, paths,
        [](const StepReport& s) { return format("loss %.4f acc %.2f%% | run eta ", s.loss, 100 * s.accuracy); },
        [&](const EpochMetrics& m) {
            std::string line = format("epoch %3lld/%lld  lr %.5f  train loss %.4f acc %s", static_cast<long long>(m.epoch),
                                      static_cast<long long>(r.epochs), m.lr, m.train_loss, pct(m.train_accuracy).c_str());
            if (std::isfinite(m.val_loss)) line += format("  val loss %.4f acc %s", m.val_loss, pct(m.val_accuracy).c_str());
            return line + format("  %.1fs\n", m.seconds);
        });

    RunResult res;
    res.train_seconds = total_seconds(trainer.history());
    const EvalResult t = evaluate(trainer.model(), test);
    const EpochMetrics& last = trainer.history().back();
    std::map<std::string, std::string> meta;
    meta["tern.format"] = "classifier-v1";
    meta["tern.model"] = r.model;
    meta["tern.data"] = r.data;
    meta["tern.in_channels"] = std::to_string(test.channels());
    meta["tern.num_classes"] = std::to_string(test.num_classes);
    meta["tern.recipe"] = recipe_to_json(r).dump();
    meta["tern.epochs"] = std::to_string(trainer.epochs_done());
    if (std::isfinite(last.val_accuracy)) meta["tern.val_accuracy"] = std::to_string(last.val_accuracy);
    meta["tern.test_accuracy"] = std::to_string(t.accuracy);
    meta["tern.test_loss"] = std::to_string(t.loss);
    meta["tern.train_seconds"] = std::to_string(res.train_seconds);
    meta["tern.threads"] = std::to_string(default_thread_count());
    meta["tern.version"] = kTernVersion;
    if (r.has_qat) meta["tern.qat"] = fake_quant_spec_json(fake_quant_spec(r.qat));
    if (r.has_binary) {  // save_classifier packs the layers this names
        BinarySpec spec = binary_spec(r.binary);
        for (const auto& [name, layer] : binary_layers(trainer.model())) spec.layers.push_back(name);
        meta["tern.binary"] = binary_spec_json(spec);
    }
    save_classifier(r.output, trainer.model(), meta);
    std::error_code ec;
    std::filesystem::remove(paths.resume, ec);  // the finished model supersedes it

    res.epochs = trainer.epochs_done();
    res.parameters = trainer.model().parameter_count();
    res.history = trainer.history();
    res.test_loss = t.loss;
    res.test_accuracy = t.accuracy;
    res.test_count = t.count;
    return res;
}

RunResult run_language_model(const Recipe& r, const TrainHooks& hooks, const RunOptions& o, const RunPaths& paths) {
    const auto weight_type = dtype_from_name(r.lm.gguf_type);
    if (!weight_type) throw InputError(r.source, "key 'lm.gguf_type': unknown type '" + r.lm.gguf_type + "'");
    auto corpus = std::make_shared<LmCorpus>(prepare_lm_corpus(r));
    log(o, format("corpus: %zu train / %zu validation / %zu test documents; tokenizer %lld tokens trained on %.1f MB "
                  "in %.1fs; %zu / %zu / %zu tokens (encoded in %.1fs)\n",
                  corpus->train_docs.size(), corpus->validation_docs.size(), corpus->test_docs.size(),
                  static_cast<long long>(corpus->vocab.size()), static_cast<double>(corpus->train_bytes) / 1e6,
                  corpus->tokenizer_seconds, corpus->train.size(), corpus->validation.size(), corpus->test.size(),
                  corpus->encode_seconds));
    LmTrainer trainer(r, corpus);
    resume_from(trainer, r, o.resume);
    log(o, format("train llama LM: %lld parameters, context %lld, batch %lld, %lld epochs x %lld steps, %d threads\n",
                  static_cast<long long>(trainer.model().parameter_count()), static_cast<long long>(r.lm.context),
                  static_cast<long long>(r.batch_size), static_cast<long long>(r.epochs),
                  static_cast<long long>(trainer.batches_per_epoch()), default_thread_count()));
    log_resume(o, trainer);
    train_epochs(
        trainer, r, hooks, o, paths,
        [](const LmStepReport& s) {
            return format("loss %.3f ppl %.1f acc %.1f%% %.0f tok/s | run eta ", s.loss, std::exp(s.loss),
                          100 * s.accuracy, s.tokens_per_second);
        },
        [&](const EpochMetrics& m) {
            return format("epoch %3lld/%lld  lr %.5f  train loss %.4f ppl %.2f  val loss %.4f ppl %.2f acc %s  %.1fs\n",
                          static_cast<long long>(m.epoch), static_cast<long long>(r.epochs), m.lr, m.train_loss,
                          std::exp(m.train_loss), m.val_loss, std::exp(m.val_loss), pct(m.val_accuracy).c_str(),
                          m.seconds);
        });

    RunResult res;
    res.train_seconds = total_seconds(trainer.history());
    const LmEvalResult test = evaluate_lm(trainer.model(), corpus->test, corpus->bos);
    const EpochMetrics& last = trainer.history().back();
    std::map<std::string, std::string> meta;
    meta["tern.recipe"] = recipe_to_json(r).dump();
    meta["tern.epochs"] = std::to_string(trainer.epochs_done());
    meta["tern.val_ppl"] = std::to_string(std::exp(last.val_loss));
    meta["tern.test_ppl"] = std::to_string(test.ppl());
    meta["tern.train_tokens"] = std::to_string(trainer.train_tokens());
    meta["tern.train_seconds"] = std::to_string(res.train_seconds);
    meta["tern.threads"] = std::to_string(default_thread_count());
    meta["tern.version"] = kTernVersion;
    export_lm_gguf(r.output, trainer.model(), corpus->vocab, corpus->bos, *weight_type, meta);
    write_tokenizer_json(paths.tokenizer, corpus->vocab);
    std::error_code ec;
    std::filesystem::remove(paths.resume, ec);

    res.language_model = true;
    res.tokenizer = paths.tokenizer;
    res.epochs = trainer.epochs_done();
    res.parameters = trainer.model().parameter_count();
    res.train_tokens = trainer.train_tokens();
    res.context = r.lm.context;
    res.history = trainer.history();
    res.test_loss = test.loss;
    res.test_accuracy = test.accuracy;
    res.test_count = test.tokens;
    return res;
}

}  // namespace

double RunResult::test_ppl() const { return std::exp(test_loss); }

RunResult run(const Recipe& r, const TrainHooks& hooks, const RunOptions& o) {
    if (r.output.empty()) throw InputError(r.source, "key 'output': missing (or give --out)");
    // Every file the run writes, checked before training: none may be the recipe,
    // and only the resume checkpoint may be the --resume file (it is its successor).
    std::vector<std::string> sidecars = {".metrics.csv", ".metrics.png"};
    if (is_language_model(r)) sidecars.push_back(".tokenizer.json");
    check_output_path(r.output, {r.source, o.resume}, sidecars);
    check_output_path(r.output + ".resume.safetensors", {r.source});
    const RunPaths paths(r.output);
    RunResult res = is_language_model(r) ? run_language_model(r, hooks, o, paths) : run_classifier(r, hooks, o, paths);
    res.model = r.model;
    res.output = r.output;
    res.metrics_csv = paths.csv;
    res.plot_png = paths.png;
    return res;
}

}  // namespace tern::nn::train
