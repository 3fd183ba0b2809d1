#include "prune/channel_prune_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/json_out.h"
#include "core/output_path.h"
#include "nn/models/pruned.h"
#include "nn/models/zoo.h"
#include "nn/train/checkpoint.h"
#include "nn/train/run.h"
#include "nn/train/trainer.h"
#include "prune/channel_prune.h"
#include "prune/channel_regression.h"
#include "prune/sensitivity_scan.h"

namespace tern::prune {

void check_channel_request(const ChannelPruneRequest& r) {
    channel_criterion(r.method);
    if (r.widths.empty() && !(r.flops > 0 && r.flops <= 1))
        throw UsageError("--flops", format("the fraction of MACs kept must be in (0, 1], not %g", r.flops));
    const std::string ext = std::filesystem::path(r.output).extension().string();
    if (ext != ".safetensors")
        throw UsageError("-o", "a channel-pruned classifier is written as .safetensors, not '" + r.output + "'");
    if (r.width_multiple < 1 || r.width_multiple > 64) throw UsageError("--width-multiple", "must be in 1..64");
    if (r.finetune_epochs < 0 || r.finetune_epochs > 1000)
        throw UsageError("--finetune-epochs", "must be in 0..1000");
}

nn::train::ClassifierFile load_prunable_classifier(const std::string& path) {
    nn::train::ClassifierFile f = nn::train::load_classifier(path);
    if (f.metadata.count("tern.qat"))
        throw InputError(path, "a QAT model (tern.qat); channel pruning takes the fp32 model it was trained from");
    try {
        channel_groups(f.model_name);
    } catch (const InputError& e) {
        throw InputError(path, "model '" + f.model_name + "' has no layers channel pruning knows (" + e.detail() + ")");
    }
    return f;
}

nn::train::Recipe stored_recipe(const nn::train::ClassifierFile& f, const std::string& path) {
    auto it = f.metadata.find("tern.recipe");
    if (it == f.metadata.end())
        throw InputError(path, "no training recipe in its metadata (tern.recipe); it was not written by tern train");
    try {
        return nn::train::parse_recipe_json(it->second, path + " (tern.recipe)");
    } catch (const InputError& e) {
        throw InputError(path, "tern.recipe metadata: " + e.detail());
    }
}

double finetune_classifier(const std::string& model_file, const nn::train::Recipe& base, int64_t epochs,
                           int64_t train_subset, const std::string& output,
                           const std::map<std::string, std::string>& extra,
                           const std::function<void(const std::string&)>& log) {
    const nn::train::ClassifierFile f = nn::train::load_classifier(model_file);
    nn::train::Recipe r = base;
    r.model = f.model_name;
    r.init = model_file;
    r.epochs = epochs;
    r.output = output;
    r.optimizer.lr *= 0.1;  // fine-tuning: the pruned weights are close to a good solution already
    r.schedule.warmup_epochs = 0;
    if (train_subset > 0) {
        r.train_subset = train_subset;
        r.validation = std::min(r.validation, train_subset / 5);  // the held-out part comes out of the subset
    }
    r.has_prune = r.has_distill = r.has_qat = false;
    r.source = model_file;
    nn::train::RunOptions o;
    o.checkpoint_minutes = 0;
    o.callbacks.log = log;
    const nn::train::RunResult res = nn::train::run(r, {}, o);
    nn::train::ClassifierFile out = nn::train::load_classifier(output);
    for (const auto& [k, v] : extra) out.metadata[k] = v;
    nn::train::save_classifier(output, *out.model, out.metadata);
    return res.test_accuracy;
}

ChannelPruneReport prune_classifier_channels(const ChannelPruneRequest& req) {
    check_channel_request(req);
    check_output_path(req.output, {req.input});
    nn::train::ClassifierFile f = load_prunable_classifier(req.input);
    auto meta_int = [&](const char* key, int64_t def) {
        auto it = f.metadata.find(key);  // load_classifier checked its range
        return it == f.metadata.end() ? def : static_cast<int64_t>(std::stoll(it->second));
    };
    const int64_t in_ch = meta_int("tern.in_channels", 1), classes = meta_int("tern.num_classes", 10);
    const nn::models::PrunedArch before = nn::models::pruned_arch_of(f.model_name);
    const std::vector<std::string> names = nn::models::width_names(before.base);
    const ChannelCriterion crit = channel_criterion(req.method);
    if (crit == ChannelCriterion::bn) {
        bool any = false;
        for (const auto& g : channel_groups(f.model_name)) any |= !g.batch_norm.empty();
        if (!any) throw InputError(req.input, "model '" + before.base + "' has no batch norm for --method bn (use l1 or taylor)");
    }
    std::vector<int64_t> widths = req.widths;
    if (widths.empty()) {
        const ScanResult scan = req.sensitivity.empty() ? ScanResult{} : read_scan_csv(req.sensitivity);
        try {
            widths = req.sensitivity.empty() ? uniform_widths(before, req.flops, in_ch, classes, req.width_multiple)
                                             : sensitivity_widths(before, scan, req.flops, in_ch, classes);
        } catch (const InputError& e) {
            throw InputError(req.sensitivity.empty() ? req.input : req.sensitivity, e.detail());
        }
    } else {
        if (widths.size() != before.widths.size())
            throw UsageError("--widths", before.base + " has " + std::to_string(before.widths.size()) + " prunable layers (" +
                                             [&] { std::string s; for (auto& n : names) s += (s.empty() ? "" : " ") + n; return s; }() +
                                             "), got " + std::to_string(widths.size()) + " widths");
        for (size_t i = 0; i < widths.size(); ++i)
            if (widths[i] < 1 || widths[i] > before.widths[i])
                throw UsageError("--widths", names[i] + " width " + std::to_string(widths[i]) +
                                                 (widths[i] < 1 ? " would prune every channel of the layer" : " is wider than it is") +
                                                 " (allowed 1.." + std::to_string(before.widths[i]) + ")");
    }
    std::shared_ptr<const data::ImageDataset> calib;
    nn::train::Recipe recipe;
    const bool calibrated = crit == ChannelCriterion::taylor || crit == ChannelCriterion::regression;
    if (calibrated || req.finetune_epochs > 0) recipe = stored_recipe(f, req.input);
    if (calibrated) calib = nn::train::load_train_data(recipe).train;  // the TRAIN split
    std::vector<std::vector<int64_t>> kept;
    if (crit == ChannelCriterion::regression) {
        auto copy = [&] {
            std::shared_ptr<nn::UnaryModule> m = nn::models::make_model(f.model_name, 0, in_ch, classes);
            nn::train::load_module_state(*m, nn::train::module_state(*f.model), req.input);
            return m;
        };
        kept = regression_channels(*f.model, f.model_name, widths, *calib, copy,
                                   {.images = req.calibration_batches * 64, .ridge = 1e-3, .log = req.log});
    } else {
        kept = top_channels(channel_scores(*f.model, f.model_name, crit, calib.get(), req.calibration_batches, 64), widths);
    }
    const NarrowedModel n = narrow_model(*f.model, f.model_name, kept, in_ch, classes);

    ChannelPruneReport rep;
    rep.model_before = f.model_name;
    rep.model_after = n.model_name;
    for (size_t i = 0; i < names.size(); ++i) rep.layers.push_back({names[i], before.widths[i], widths[i]});
    nn::models::PrunedArch after = before;
    after.widths = widths;
    rep.macs_before = nn::models::pruned_macs(before, in_ch, classes);
    rep.macs_after = nn::models::pruned_macs(after, in_ch, classes);
    rep.params_before = f.model->parameter_count();
    rep.params_after = n.model->parameter_count();

    std::map<std::string, std::string> meta = f.metadata;
    for (const char* stale : {"tern.test_accuracy", "tern.test_loss", "tern.val_accuracy"}) meta.erase(stale);
    meta["tern.model"] = n.model_name;
    const std::string how = Json{{"from", f.model_name}, {"method", req.method},
                                 {"flops_kept", double(rep.macs_after) / double(rep.macs_before)}}.dump();
    meta["tern.channel_prune"] = how;
    if (req.finetune_epochs == 0) {
        nn::train::save_classifier(req.output, *n.model, meta);
        return rep;
    }
    // Fine-tuning starts from the pruned weights in a sidecar, removed after.
    const std::string init = req.output + ".pruned-init.safetensors";
    nn::train::save_classifier(init, *n.model, meta);
    struct Remove {
        std::string p;
        ~Remove() { std::error_code ec; std::filesystem::remove(p, ec); }
    } remove_init{init};
    rep.test_accuracy = finetune_classifier(init, recipe, req.finetune_epochs, req.train_subset, req.output,
                                            {{"tern.channel_prune", how}}, req.log);
    rep.finetuned = true;
    return rep;
}

}  // namespace tern::prune
