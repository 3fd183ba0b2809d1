// tern train RECIPE.json [-t N] [--epochs N] [--out PATH] [--resume CKPT] [--checkpoint-minutes N] [--json]
// Trains a zoo model or a language model as the recipe says (nn::train::run).
// After every epoch, and every N minutes inside one, it writes a resumable
// checkpoint (<out>.resume.safetensors); after every epoch the metrics CSV
// (<out>.metrics.csv) and a plot of the curves (<out>.metrics.png); at the end
// it measures the test set once, writes the model (<out>, weights only, with
// metadata) and removes the resume checkpoint. All files are written atomically.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/option_ranges.h"
#include "cli/train_report.h"
#include "core/json_out.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "distill/classifier_distill.h"
#include "nn/train/run.h"
#include "nn/train/run_report.h"
#include "prune/classifier_prune.h"
#include "quant/binary_training.h"
#include "quant/qat_training.h"
#include "cli/kmeans_report.h"
#include "quant/kmeans_training.h"

namespace tern::cli {
namespace {

using namespace tern::nn::train;

Json prune_sparsity_json(const prune::PrunedRun& p) {
    Json layers = Json::array();
    for (const auto& l : p.sparsity)
        layers.push_back({{"layer", l.name}, {"weights", l.weights}, {"zeros", l.zeros}, {"sparsity", l.sparsity()}});
    return {{"layers", layers}, {"compression", p.compression()}, {"csv", p.sparsity_csv}};
}

void print_prune_sparsity(const prune::PrunedRun& p) {
    for (const auto& l : p.sparsity)
        std::printf("sparsity %-14s %8lld / %8lld zero  %s\n", l.name.c_str(), static_cast<long long>(l.zeros),
                    static_cast<long long>(l.weights), pct(l.sparsity()).c_str());
    std::printf("prunable weights %.2fx fewer (%s)\n", p.compression(), p.sparsity_csv.c_str());
}

Json distill_json(const Recipe& r, const distill::DistilledRun& d) {
    Json j{{"teacher", d.teacher},         {"teacher_model", d.teacher_model}, {"loss", r.distill.loss},
           {"temperature", r.distill.temperature}, {"alpha", r.distill.alpha}};
    if (d.teacher_test_accuracy >= 0) j["teacher_test_accuracy"] = d.teacher_test_accuracy;
    if (r.distill.loss != "kd") j["feature_weight"] = r.distill.feature_weight;
    return j;
}

void print_distill(const Recipe& r, const distill::DistilledRun& d) {
    std::printf("distilled from %s (%s", d.teacher.c_str(), d.teacher_model.c_str());
    if (d.teacher_test_accuracy >= 0) std::printf(", test acc %s", pct(d.teacher_test_accuracy).c_str());
    std::printf("), loss %s T %g alpha %g\n", r.distill.loss.c_str(), r.distill.temperature, r.distill.alpha);
}

Json binary_json(const Recipe& r, const quant::BinaryRun& b) {
    Json j = recipe_to_json(r)[r.binary.method == "twn" || r.binary.method == "ttq" ? "ternary" : "binary"];
    j["layers"] = b.layers;
    j["file_bytes"] = b.file_bytes;
    j["f32_file_bytes"] = b.f32_file_bytes;
    if (b.init_test_accuracy >= 0) j["init_test_accuracy"] = b.init_test_accuracy;
    return j;
}

void print_binary(const Recipe& r, const quant::BinaryRun& b, double test_accuracy) {
    std::string layers;
    for (const auto& l : b.layers) layers += (layers.empty() ? "" : ", ") + l;
    std::printf("%s on %zu layers (%s): test acc %s (fp32 init %s)\n", r.binary.method.c_str(), b.layers.size(),
                layers.c_str(), pct(test_accuracy).c_str(),
                b.init_test_accuracy >= 0 ? pct(b.init_test_accuracy).c_str() : "not recorded");
    std::printf("model file %lld bytes packed vs %lld bytes all f32 (%.2fx smaller)\n", static_cast<long long>(b.file_bytes),
                static_cast<long long>(b.f32_file_bytes),
                static_cast<double>(b.f32_file_bytes) / static_cast<double>(std::max<int64_t>(1, b.file_bytes)));
}

void run_train(const TrainCliOptions& o) {
    apply_threads(o.threads);
    Recipe r = load_recipe(o.recipe);
    if (o.epochs > 0) r.epochs = o.epochs;
    if (!o.out.empty()) r.output = o.out;
    // Human progress goes to stdout unless stdout carries the JSON report.
    FILE* log = o.json ? stderr : stdout;
    std::unique_ptr<Progress> bar;
    RunOptions ro;
    ro.resume = o.resume;
    ro.checkpoint_minutes = o.checkpoint_minutes;
    ro.callbacks.log = [&](const std::string& line) {
        std::fputs(line.c_str(), log);
        std::fflush(log);
    };
    ro.callbacks.epoch_begin = [&](int64_t e, int64_t epochs, int64_t steps) {
        bar = std::make_unique<Progress>("epoch " + std::to_string(e) + "/" + std::to_string(epochs), steps);
    };
    ro.callbacks.step = [&](int64_t step, const std::string& status) { bar->update(step, status); };
    ro.callbacks.epoch_end = [&] { bar->finish(); };
    // A recipe with a "prune" section trains through the pruning hooks.
    prune::PrunedRun pruned;
    // One with a "distill" section through the distillation hooks (teacher live, eval mode).
    distill::DistilledRun distilled;
    // A "qat" section trains the fake-quantized model (its test accuracy is the fake-quant one).
    quant::QatRun qat;
    // A "kmeans" section fine-tunes shared centroids and writes the compressed file.
    quant::KmeansRun kmeans;
    // A "binary" / "ternary" section trains binarized layers (its test accuracy is the binary model's).
    quant::BinaryRun binary;
    if (r.has_binary) {  // checked first, so a bad init is the only line
        quant::check_binary_recipe(r);
        std::fprintf(log, "training %s from %s\n", quant::binary_summary(r.binary).c_str(), r.init.c_str());
    }
    // "distill" and "qat" together: the distiller runs QAT with its hooks.
    const RunResult res = r.has_distill ? (distilled = distill::run_distilled_training(r, ro)).run
                          : r.has_prune ? (pruned = prune::run_pruned_training(r, ro)).run
                          : r.has_qat   ? (qat = quant::run_qat_training(r, ro)).run
                          : r.has_kmeans ? (kmeans = quant::run_kmeans_training(r, ro)).run
                          : r.has_binary ? (binary = quant::run_binary_training(r, ro)).run
                                        : nn::train::run(r, {}, ro);
    if (r.has_distill && r.has_qat) qat = distilled.qat;
    if (res.language_model) return print_lm_result(res, o.json);

    const EpochMetrics& last = res.history.back();
    if (o.json) {
        Json j;
        j["model"] = res.model;
        j["output"] = res.output;
        j["epochs"] = res.epochs;
        j["parameters"] = res.parameters;
        if (std::isfinite(last.val_accuracy)) {
            j["val_accuracy"] = last.val_accuracy;
            j["val_loss"] = last.val_loss;
        }
        j["test_accuracy"] = res.test_accuracy;
        j["test_loss"] = res.test_loss;
        j["train_seconds"] = res.train_seconds;
        j["threads"] = default_thread_count();
        j["metrics_csv"] = res.metrics_csv;
        j["plot_png"] = res.plot_png;
        j["history"] = history_json(res.history);
        if (r.has_prune) j["sparsity"] = prune_sparsity_json(pruned);
        if (r.has_distill) j["distill"] = distill_json(r, distilled);
        if (r.has_qat) {
            j["qat"] = recipe_to_json(r)["qat"];
            j["qat"]["layers"] = qat.layers;
            if (qat.init_test_accuracy >= 0) j["qat"]["init_test_accuracy"] = qat.init_test_accuracy;
        }
        if (r.has_kmeans) j["kmeans"] = kmeans_report_json(kmeans.layers, r.init, kmeans.init_bytes, res.output, kmeans.output_bytes);
        if (r.has_binary) j["binary"] = binary_json(r, binary);
        print_json(j);
        return;
    }
    if (r.has_kmeans) print_kmeans_report(kmeans.layers, r.init, kmeans.init_bytes, res.output, kmeans.output_bytes);
    std::printf("test (%lld images): loss %.4f acc %s\n", static_cast<long long>(res.test_count), res.test_loss,
                pct(res.test_accuracy).c_str());
    if (r.has_prune) print_prune_sparsity(pruned);
    if (r.has_distill) print_distill(r, distilled);
    if (r.has_qat)
        std::printf("qat %s on %lld layers: fake-quant test acc %s (fp32 init %s)\n", quant::qat_summary(r.qat).c_str(),
                    static_cast<long long>(qat.layers), pct(res.test_accuracy).c_str(),
                    qat.init_test_accuracy >= 0 ? pct(qat.init_test_accuracy).c_str() : "not recorded");
    if (r.has_binary) print_binary(r, binary, res.test_accuracy);
    std::printf("wrote %s, %s, %s (training %s)\n", res.output.c_str(), res.metrics_csv.c_str(), res.plot_png.c_str(),
                fmt_duration(res.train_seconds).c_str());
}

}  // namespace

void add_train_command(CLI::App& app) {
    auto o = std::make_shared<TrainCliOptions>();
    auto* cmd = app.add_subcommand("train", "Train a zoo model from a recipe (JSON)");
    cmd->add_option("recipe", o->recipe, "recipe file, e.g. models/recipes/fmnist-lenet5.json")->required();
    cmd->add_option("--epochs", o->epochs, "override the recipe's epochs")->check(int_range(1, 100000));
    cmd->add_option("--out", o->out, "override the recipe's output path");
    cmd->add_option("--resume", o->resume, "continue from a <out>.resume.safetensors checkpoint (written at epoch ends and mid-epoch)");
    cmd->add_option("--checkpoint-minutes", o->checkpoint_minutes,
                    "also write the resume checkpoint inside an epoch every N minutes (0: only at epoch ends)")
        ->check(real_range(0, 10080));
    cmd->add_flag("--json", o->json, "machine-readable report on stdout (epoch lines go to stderr)");
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] { run_train(*o); });
}

}  // namespace tern::cli
