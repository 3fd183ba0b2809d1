// tern train RECIPE.json [-t N] [--epochs N] [--out PATH] [--resume CKPT] [--json]
// Trains a zoo model as the recipe says. After every epoch it writes a
// resumable checkpoint (<out>.resume.safetensors), the metrics CSV
// (<out>.metrics.csv) and a plot of the curves (<out>.metrics.png); at the end
// it measures the test set once, writes the model (<out>, weights only, with
// metadata) and removes the resume checkpoint. All files are written atomically.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/line_chart.h"
#include "core/mapped_file.h"
#include "core/output_path.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "core/version.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"
#include "cli/option_ranges.h"
#include "cli/train_report.h"

namespace tern::cli {
namespace {

using namespace tern::nn::train;

void run_train(const TrainCliOptions& o) {
    apply_threads(o.threads);
    Recipe r = load_recipe(o.recipe);
    if (o.epochs > 0) r.epochs = o.epochs;
    if (!o.out.empty()) r.output = o.out;
    if (r.output.empty()) throw InputError(o.recipe, "key 'output': missing (or give --out)");
    // Every file the run writes, checked before training: none may be the recipe,
    // and only the resume checkpoint may be the --resume file (it is its successor).
    std::vector<std::string> sidecars = {".metrics.csv", ".metrics.png"};
    if (is_language_model(r)) sidecars.push_back(".tokenizer.json");
    check_output_path(r.output, {o.recipe, o.resume}, sidecars);
    check_output_path(r.output + ".resume.safetensors", {o.recipe});
    if (is_language_model(r)) return run_train_lm(r, o);
    const std::string resume_path = r.output + ".resume.safetensors";
    const std::string csv_path = r.output + ".metrics.csv";
    const std::string png_path = r.output + ".metrics.png";
    // Human progress goes to stdout unless stdout carries the JSON report.
    FILE* log = o.json ? stderr : stdout;

    TrainData data = load_train_data(r);
    const data::ImageDataset test = load_test_data(r.data, r.data_dir);
    Trainer trainer(r, data);
    if (!o.resume.empty()) {
        trainer.load_resume(o.resume);
        if (trainer.epochs_done() > r.epochs)
            throw InputError(o.resume, "checkpoint has " + std::to_string(trainer.epochs_done()) +
                                           " epochs, more than the " + std::to_string(r.epochs) + " asked for");
    }
    std::fprintf(log, "train %s on %s: %lld train / %lld validation images, %lld parameters, %lld epochs x %lld steps, %d threads\n",
                 r.model.c_str(), r.data.c_str(), static_cast<long long>(data.train->size()),
                 static_cast<long long>(data.validation ? data.validation->size() : 0),
                 static_cast<long long>(trainer.model().parameter_count()), static_cast<long long>(r.epochs),
                 static_cast<long long>(trainer.batches_per_epoch()), default_thread_count());
    log_resume(log, o.resume, trainer.epochs_done());

    const RunEta eta(trainer.epochs_done(), r.epochs);
    while (!trainer.finished()) {
        const int64_t e = trainer.epochs_done() + 1;
        Progress bar("epoch " + std::to_string(e) + "/" + std::to_string(r.epochs), trainer.batches_per_epoch());
        const EpochMetrics m = trainer.train_epoch([&](const StepReport& s) {
            char status[128];
            std::snprintf(status, sizeof status, "loss %.4f acc %.2f%% | run eta %s", s.loss, 100 * s.accuracy,
                          eta.left(e, s.batch, s.batches).c_str());
            bar.update(s.batch, status);
        });
        bar.finish();
        std::fprintf(log, "epoch %3lld/%lld  lr %.5f  train loss %.4f acc %s", static_cast<long long>(m.epoch),
                     static_cast<long long>(r.epochs), m.lr, m.train_loss, pct(m.train_accuracy).c_str());
        if (std::isfinite(m.val_loss)) std::fprintf(log, "  val loss %.4f acc %s", m.val_loss, pct(m.val_accuracy).c_str());
        std::fprintf(log, "  %.1fs\n", m.seconds);
        std::fflush(log);
        if (!trainer.finished()) trainer.save_resume(resume_path);
        write_text_file(csv_path, history_csv(trainer.history()));
        write_plot(png_path, trainer.history());
    }
    double train_seconds = 0;
    for (const auto& m : trainer.history()) train_seconds += m.seconds;

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
    meta["tern.train_seconds"] = std::to_string(train_seconds);
    meta["tern.threads"] = std::to_string(default_thread_count());
    meta["tern.version"] = kTernVersion;
    save_classifier(r.output, trainer.model(), meta);
    std::error_code ec;
    std::filesystem::remove(resume_path, ec);  // the finished model supersedes it

    if (o.json) {
        Json j;
        j["model"] = r.model;
        j["output"] = r.output;
        j["epochs"] = trainer.epochs_done();
        j["parameters"] = trainer.model().parameter_count();
        if (std::isfinite(last.val_accuracy)) {
            j["val_accuracy"] = last.val_accuracy;
            j["val_loss"] = last.val_loss;
        }
        j["test_accuracy"] = t.accuracy;
        j["test_loss"] = t.loss;
        j["train_seconds"] = train_seconds;
        j["threads"] = default_thread_count();
        j["metrics_csv"] = csv_path;
        j["plot_png"] = png_path;
        j["history"] = history_json(trainer.history());
        print_json(j);
        return;
    }
    std::printf("test (%lld images): loss %.4f acc %s\n", static_cast<long long>(t.count), t.loss, pct(t.accuracy).c_str());
    std::printf("wrote %s, %s, %s (training %s)\n", r.output.c_str(), csv_path.c_str(), png_path.c_str(),
                fmt_duration(train_seconds).c_str());
}

}  // namespace

void add_train_command(CLI::App& app) {
    auto o = std::make_shared<TrainCliOptions>();
    auto* cmd = app.add_subcommand("train", "Train a zoo model from a recipe (JSON)");
    cmd->add_option("recipe", o->recipe, "recipe file, e.g. models/recipes/fmnist-lenet5.json")->required();
    cmd->add_option("--epochs", o->epochs, "override the recipe's epochs")->check(int_range(1, 100000));
    cmd->add_option("--out", o->out, "override the recipe's output path");
    cmd->add_option("--resume", o->resume, "continue from a <out>.resume.safetensors checkpoint");
    cmd->add_flag("--json", o->json, "machine-readable report on stdout (epoch lines go to stderr)");
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] { run_train(*o); });
}

}  // namespace tern::cli
