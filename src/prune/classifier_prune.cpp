#include "prune/classifier_prune.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/output_path.h"
#include "nn/models/zoo.h"
#include "nn/train/model_file.h"
#include "nn/train/run_report.h"
#include "nn/train/trainer.h"
#include "prune/schedule.h"

namespace tern::prune {

using TrainPruneRecipe = nn::train::PruneRecipe;
using nn::train::Recipe;

namespace {

const char* kCsvHeader = "epoch,layer,weights,zeros,sparsity\n";

std::string pattern_name(const TrainPruneRecipe& p) { return std::to_string(p.pattern_n) + ":" + std::to_string(p.pattern_m); }

// The rows of an earlier process's CSV for epochs before `epoch` (a resumed run continues it).
std::string csv_rows_before(const std::string& path, int64_t epoch) {
    std::ifstream in(path);
    std::string line, rows;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] < '0' || line[0] > '9') continue;
        if (std::stoll(line) < epoch) rows += line + "\n";
    }
    return rows;
}

}  // namespace

void check_prune_recipe(const Recipe& r) {
    if (!r.has_prune) return;
    // Fashion-MNIST: one channel, ten classes; the shapes of the prunable weights follow.
    const auto model = nn::models::make_model(r.model, 0, 1, 10);
    const auto weights = prunable_weights(*model);
    if (weights.empty()) throw InputError(r.source, "key 'prune': model '" + r.model + "' has no Linear or Conv weights");
    const TrainPruneRecipe& p = r.prune;
    if (p.pattern_m > 0)
        if (const PrunableWeight* w = first_row_not_divisible(weights, p.pattern_m))
            throw InputError(r.source, "key 'prune.pattern': " + pattern_name(p) + " groups rows in " +
                                           std::to_string(p.pattern_m) + "s, but " + w->name + " of " + r.model +
                                           " has rows of " + std::to_string(w->row_size));
}

struct ClassifierPruner::State {
    Recipe recipe;
    Criterion criterion;
    std::shared_ptr<const data::ImageDataset> calibration;
    std::function<void(const std::string&)> log;
    bool started = false;
    std::vector<PrunableWeight> weights;
    std::vector<Mask> masks;
    double current = 0;  // sparsity target the masks were made for
    std::string csv_rows;

    void start(const nn::train::StepContext& c) {
        started = true;
        weights = prunable_weights(c.model);
        const double before = c.global_step > 0 ? target_sparsity(recipe.prune, c.global_step - 1, c.steps) : 0.0;
        if (before > 0) {
            // A resumed run: the checkpoint's zeros are the masks.
            masks = masks_from_zeros(weights);
            current = before;
        } else {
            for (const auto& w : weights) masks.emplace_back(static_cast<size_t>(w.numel()), 1);
        }
        if (c.global_step > 0) csv_rows = csv_rows_before(recipe.output + ".sparsity.csv", c.epoch);
    }

    void prune_to(nn::train::StepContext& c, double target) {
        GradientStats stats;
        if (needs_gradients(criterion)) {
            auto* model = dynamic_cast<nn::UnaryModule*>(&c.model);
            if (!model || !calibration) throw Error("prune", "taylor / obd need a classifier and calibration images");
            stats = accumulate_gradients(*model, weights, *calibration, recipe.prune.calibration_batches,
                                         recipe.batch_size);
        }
        auto scores = saliency(criterion, weights, &stats);
        // Pruned stays pruned: below every live weight's saliency (all >= 0).
        for (size_t t = 0; t < weights.size(); ++t)
            for (size_t i = 0; i < scores[t].size(); ++i)
                if (!masks[t][i]) scores[t][i] = -1.0f;
        const TrainPruneRecipe& p = recipe.prune;
        if (p.pattern_m > 0)
            masks = n_m_masks(scores, weights, p.pattern_n, p.pattern_m);
        else if (p.scope == "global")
            masks = global_masks(scores, target);
        else
            masks = layerwise_masks(scores, target);
        for (size_t t = 0; t < weights.size(); ++t) {
            int64_t kept = 0;
            for (uint8_t m : masks[t]) kept += m;
            if (kept == 0)
                throw InputError(recipe.source, format("key 'prune.sparsity': %s pruning to %.2f%% removes every weight "
                                                       "of %s; lower the sparsity or use scope 'layer'",
                                                       p.scope.c_str(), 100 * target, weights[t].name.c_str()));
        }
        apply_masks(weights, masks);
        mask_optimizer_state(c.optimizer, weights, masks);
        current = target;
        if (log) {
            const auto s = measure_sparsity(weights);
            log(format("prune epoch %lld step %lld: %s %s -> %s of %lld weights zero\n", static_cast<long long>(c.epoch),
                       static_cast<long long>(c.step), p.method.c_str(),
                       p.pattern_m > 0 ? pattern_name(p).c_str() : p.scope.c_str(),
                       nn::train::pct(s.back().sparsity()).c_str(), static_cast<long long>(s.back().weights)));
        }
    }

    void record_epoch(int64_t epoch) {
        for (const auto& l : measure_sparsity(weights))
            csv_rows += format("%lld,%s,%lld,%lld,%.6f\n", static_cast<long long>(epoch), l.name.c_str(),
                               static_cast<long long>(l.weights), static_cast<long long>(l.zeros), l.sparsity());
        nn::train::write_text_file(recipe.output + ".sparsity.csv", kCsvHeader + csv_rows);
    }
};

ClassifierPruner::ClassifierPruner(const Recipe& r, std::shared_ptr<const data::ImageDataset> calibration,
                                   std::function<void(const std::string&)> log)
    : state_(std::make_shared<State>()) {
    state_->recipe = r;
    state_->criterion = criterion_from_name(r.prune.method);
    state_->calibration = std::move(calibration);
    state_->log = std::move(log);
}

ClassifierPruner::~ClassifierPruner() = default;

std::string ClassifierPruner::sparsity_csv() const { return kCsvHeader + state_->csv_rows; }

nn::train::TrainHooks ClassifierPruner::hooks() {
    nn::train::TrainHooks h;
    auto s = state_;
    h.on_step_begin = [s](nn::train::StepContext& c) {
        if (!s->started) s->start(c);
        const double target = target_sparsity(s->recipe.prune, c.global_step, c.steps);
        if (target > s->current + 1e-12) s->prune_to(c, target);
    };
    h.after_backward = [s](nn::train::StepContext&) {
        if (s->current > 0) mask_gradients(s->weights, s->masks);
    };
    h.on_step_end = [s](nn::train::StepContext&) {
        if (s->current > 0) apply_masks(s->weights, s->masks);
    };
    h.on_epoch_end = [s](nn::Module&, nn::Optimizer&, const nn::train::EpochTotals& t) {
        if (s->started) s->record_epoch(t.epoch);
    };
    return h;
}

double PrunedRun::compression() const {
    const LayerSparsity& t = sparsity.back();
    const int64_t nonzero = t.weights - t.zeros;
    return nonzero > 0 ? static_cast<double>(t.weights) / static_cast<double>(nonzero) : 0.0;
}

PrunedRun run_pruned_training(const Recipe& r, const nn::train::RunOptions& o) {
    check_prune_recipe(r);
    if (!r.output.empty()) check_output_path(r.output, {r.source, r.init, o.resume}, {".sparsity.csv"});
    std::shared_ptr<const data::ImageDataset> calibration;
    if (needs_gradients(criterion_from_name(r.prune.method))) calibration = nn::train::load_train_data(r).train;
    ClassifierPruner pruner(r, calibration, o.callbacks.log);
    PrunedRun res;
    res.run = nn::train::run(r, pruner.hooks(), o);
    // What the file holds, not what the hooks believe.
    const auto file = nn::train::load_classifier(r.output);
    res.sparsity = measure_sparsity(prunable_weights(*file.model));
    res.sparsity_csv = r.output + ".sparsity.csv";
    return res;
}

}  // namespace tern::prune
