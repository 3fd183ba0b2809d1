#include "cli/prune_channels.h"

#include <cstdio>
#include <functional>
#include <map>

#include "core/error.h"
#include "core/json_out.h"
#include "core/table.h"
#include <filesystem>

#include "core/output_path.h"
#include "nn/train/trainer.h"
#include "prune/amc.h"
#include "prune/channel_prune.h"
#include "prune/channel_prune_file.h"
#include "prune/netadapt.h"
#include "prune/sensitivity_scan.h"

namespace tern::cli {
namespace {

std::vector<int64_t> parse_widths(const std::string& s) {
    std::vector<int64_t> out;
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t comma = std::min(s.find(',', pos), s.size());
        const std::string item = s.substr(pos, comma - pos);
        if (item.empty() || item.size() > 6 || item.find_first_not_of("0123456789") != std::string::npos)
            throw UsageError("--widths", "expected comma-separated channel counts, got '" + s + "'");
        out.push_back(std::stoll(item));
        pos = comma + 1;
    }
    return out;
}

void print_report(const ChannelPruneCliOptions& o, const prune::ChannelPruneReport& r) {
    const double kept = double(r.macs_after) / double(r.macs_before);
    if (o.json) {
        Json j{{"input", o.model}, {"output", o.output}, {"method", o.method}, {"model_before", r.model_before},
               {"model_after", r.model_after}, {"macs_before", r.macs_before}, {"macs_after", r.macs_after},
               {"macs_kept", kept}, {"params_before", r.params_before}, {"params_after", r.params_after}};
        if (o.flops) j["flops_target"] = *o.flops;
        Json layers = Json::array();
        for (const auto& l : r.layers) layers.push_back(Json{{"name", l.name}, {"before", l.before}, {"after", l.after}});
        j["layers"] = layers;
        if (r.finetuned) {
            j["finetune_epochs"] = o.finetune_epochs;
            j["test_accuracy"] = r.test_accuracy;
        }
        print_json(j);
        return;
    }
    TextTable t({"layer", "channels", "kept"});
    for (const auto& l : r.layers) t.add_row({l.name, std::to_string(l.before), std::to_string(l.after)});
    t.print();
    std::printf("\n%s -> %s: %s, MACs %lld -> %lld (%s %% kept), parameters %lld -> %lld\n", o.model.c_str(),
                o.output.c_str(), o.method.c_str(), static_cast<long long>(r.macs_before),
                static_cast<long long>(r.macs_after), fmt_fixed(100 * kept, 1).c_str(),
                static_cast<long long>(r.params_before), static_cast<long long>(r.params_after));
    if (r.finetuned)
        std::printf("fine-tuned %lld epochs: test accuracy %s %%\n", static_cast<long long>(o.finetune_epochs),
                    fmt_fixed(100 * r.test_accuracy, 2).c_str());
}


// The recipe's validation split (the file's stored recipe, else tern train's
// defaults), its first `n` images.
data::ImageDataset validation_images(const nn::train::ClassifierFile& f, const std::string& path, int64_t n,
                                     nn::train::Recipe* recipe_out = nullptr,
                                     std::shared_ptr<const data::ImageDataset>* train_out = nullptr) {
    nn::train::Recipe r;
    if (f.metadata.count("tern.recipe")) r = prune::stored_recipe(f, path);
    if (r.validation <= 0) r.validation = 5000;
    const nn::train::TrainData d = nn::train::load_train_data(r);
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < std::min(n, d.validation->size()); ++i) idx.push_back(i);
    if (recipe_out) *recipe_out = r;
    if (train_out) *train_out = d.train;
    return data::subset(*d.validation, idx);
}

void run_scan(const ChannelPruneCliOptions& o) {
    const std::string out = o.output.empty() ? "scan.csv" : o.output;
    if (std::filesystem::path(out).extension() != ".csv")
        throw UsageError("-o", "the scan is written as CSV (and a PNG plot beside it): -o NAME.csv, not '" + out + "'");
    const auto crit = prune::channel_criterion(o.method == "netadapt" ? "l1" : o.method);
    check_output_path(out, {o.model});
    check_output_path(prune::scan_plot_path(out), {o.model});
    const nn::train::ClassifierFile f = prune::load_prunable_classifier(o.model);
    const data::ImageDataset val = validation_images(f, o.model, o.val_images);
    const prune::ScanResult r = prune::sensitivity_scan(f, crit, val, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9},
                                                        o.json ? std::function<void(const std::string&)>{}
                                                               : [](const std::string& l) { std::fputs(l.c_str(), stderr); });
    prune::write_scan(out, r);
    if (o.json) {
        Json pts = Json::array();
        for (const auto& p : r.points)
            pts.push_back(Json{{"layer", p.layer}, {"sparsity", p.sparsity}, {"kept", p.kept}, {"accuracy", p.accuracy}});
        print_json(Json{{"input", o.model}, {"csv", out}, {"plot", prune::scan_plot_path(out)}, {"images", r.images},
                        {"dense_accuracy", r.dense_accuracy}, {"points", pts}});
        return;
    }
    std::printf("%s: dense validation accuracy %s %% on %lld images; %zu points -> %s, %s\n", o.model.c_str(),
                fmt_fixed(100 * r.dense_accuracy, 2).c_str(), static_cast<long long>(r.images), r.points.size(),
                out.c_str(), prune::scan_plot_path(out).c_str());
}

// Writes a searched architecture (netadapt, amc) to o.output, fine-tuned with
// the stored recipe when asked (through a temporary init file that is always
// removed); returns the test accuracy after fine-tuning, or -1.
double write_searched_model(const ChannelPruneCliOptions& o, const nn::train::ClassifierFile& f,
                            const std::string& model_name, nn::UnaryModule& model, const std::string& how,
                            const nn::train::Recipe& recipe, const std::function<void(const std::string&)>& log) {
    std::map<std::string, std::string> meta = f.metadata;
    for (const char* stale : {"tern.test_accuracy", "tern.test_loss", "tern.val_accuracy"}) meta.erase(stale);
    meta["tern.model"] = model_name;
    meta["tern.channel_prune"] = how;
    if (o.finetune_epochs == 0) {
        nn::train::save_classifier(o.output, model, meta);
        return -1;
    }
    const std::string init = o.output + ".pruned-init.safetensors";
    nn::train::save_classifier(init, model, meta);
    double test_acc = -1;
    try {
        test_acc = prune::finetune_classifier(init, recipe, o.finetune_epochs, o.train_subset, o.output,
                                              {{"tern.channel_prune", how}}, log);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(init, ec);
        throw;
    }
    std::error_code ec;
    std::filesystem::remove(init, ec);
    return test_acc;
}

// What netadapt and amc both start from: the latency-budget flags checked,
// the output path checked, the classifier, its recipe, its validation images
// and its training split.
struct SearchedPruneInputs {
    nn::train::ClassifierFile file;
    nn::train::Recipe recipe;
    std::shared_ptr<const data::ImageDataset> train;
    data::ImageDataset val;
};

SearchedPruneInputs searched_prune_inputs(const ChannelPruneCliOptions& o) {
    if (o.latency_ms && !(*o.latency_ms > 0)) throw UsageError("--latency-ms", "must be > 0");
    if (o.latency_fraction && !(*o.latency_fraction > 0 && *o.latency_fraction < 1))
        throw UsageError("--latency-fraction", "must be in (0, 1)");
    if (std::filesystem::path(o.output).extension() != ".safetensors")
        throw UsageError("-o", "a channel-pruned classifier is written as .safetensors, not '" + o.output + "'");
    check_output_path(o.output, {o.model});
    SearchedPruneInputs in{prune::load_prunable_classifier(o.model), {}, nullptr, {}};
    in.recipe = prune::stored_recipe(in.file, o.model);
    in.val = validation_images(in.file, o.model, o.val_images, &in.recipe, &in.train);
    return in;
}

void run_netadapt(const ChannelPruneCliOptions& o) {
    if (o.latency_ms.has_value() == o.latency_fraction.has_value())
        throw UsageError("--latency-ms", "netadapt needs one budget: --latency-ms L (> 0) or --latency-fraction F in (0, 1)");
    SearchedPruneInputs in = searched_prune_inputs(o);
    const nn::train::ClassifierFile& f = in.file;
    const nn::train::Recipe& recipe = in.recipe;
    std::shared_ptr<const data::ImageDataset> train = in.train;
    const data::ImageDataset& val = in.val;
    if (o.train_subset > 0 && o.train_subset < train->size()) {
        std::vector<int64_t> idx;
        for (int64_t i = 0; i < o.train_subset; ++i) idx.push_back(i);
        train = std::make_shared<data::ImageDataset>(data::subset(*train, idx));
    }
    prune::NetAdaptOptions na;
    na.latency_ms = o.latency_ms.value_or(0);
    na.latency_fraction = o.latency_fraction.value_or(0);
    na.short_steps = o.steps;
    na.step_fraction = o.latency_step;
    if (o.iterations > 0) na.max_iterations = o.iterations;
    if (!o.json) na.log = [](const std::string& l) { std::fputs(l.c_str(), stderr); };
    prune::NetAdaptResult r;
    try {
        r = prune::netadapt(*f.model, f.model_name, recipe, *train, val, na);
    } catch (const InputError& e) {
        throw InputError(o.model, e.detail());
    }
    const std::string how = Json{{"from", f.model_name}, {"method", "netadapt"}, {"latency_ms", r.latency_after_ms}}.dump();
    const double test_acc = write_searched_model(o, f, r.model_name, *r.model, how, recipe, na.log);
    const auto before = nn::models::pruned_arch_of(f.model_name), after = nn::models::pruned_arch_of(r.model_name);
    if (o.json) {
        Json it = Json::array();
        for (const auto& h : r.history)
            it.push_back(Json{{"iteration", h.iteration}, {"layer", h.layer}, {"kept", h.kept},
                              {"latency_ms", h.latency_ms}, {"val_accuracy", h.val_accuracy}});
        Json j{{"input", o.model}, {"output", o.output}, {"method", "netadapt"}, {"model_after", r.model_name},
               {"latency_before_ms", r.latency_before_ms}, {"latency_after_ms", r.latency_after_ms},
               {"macs_before", nn::models::pruned_macs(before)}, {"macs_after", nn::models::pruned_macs(after)},
               {"iterations", it}};
        if (test_acc >= 0) j["test_accuracy"] = test_acc;
        print_json(j);
        return;
    }
    std::printf("%s -> %s: netadapt, %zu iterations, predicted latency %s -> %s ms, MACs %lld -> %lld\n%s\n",
                o.model.c_str(), o.output.c_str(), r.history.size(), fmt_fixed(r.latency_before_ms, 3).c_str(),
                fmt_fixed(r.latency_after_ms, 3).c_str(), static_cast<long long>(nn::models::pruned_macs(before)),
                static_cast<long long>(nn::models::pruned_macs(after)), r.model_name.c_str());
    if (test_acc >= 0) std::printf("fine-tuned: test accuracy %s %%\n", fmt_fixed(100 * test_acc, 2).c_str());
}

void run_amc(const ChannelPruneCliOptions& o) {
    const int budgets = int(o.flops.has_value()) + int(o.latency_ms.has_value()) + int(o.latency_fraction.has_value());
    if (budgets != 1)
        throw UsageError("--flops", "amc needs one budget: --flops F in (0, 1], --latency-ms L (> 0) or --latency-fraction F in (0, 1)");
    if (o.flops && !(*o.flops > 0 && *o.flops <= 1)) throw UsageError("--flops", "must be in (0, 1]");
    if (!o.widths.empty() || !o.sensitivity.empty())
        throw UsageError("--widths", "amc chooses the widths itself: no --widths / --sensitivity");
    SearchedPruneInputs in = searched_prune_inputs(o);
    const nn::train::ClassifierFile& f = in.file;
    const nn::train::Recipe& recipe = in.recipe;
    std::shared_ptr<const data::ImageDataset> train = in.train;
    const data::ImageDataset& val = in.val;
    prune::AmcOptions ao;
    ao.bn_images = o.bn_calib_images;
    ao.bn_data = train.get();
    ao.flops = o.flops.value_or(0);
    ao.episodes = o.episodes;
    ao.warmup = o.warmup;
    ao.width_multiple = o.width_multiple;
    ao.seed = o.seed;
    ao.latency = prune::table_latency();
    if (o.latency_ms) ao.latency_ms = *o.latency_ms;
    if (o.latency_fraction) ao.latency_ms = *o.latency_fraction * ao.latency(nn::models::pruned_arch_of(f.model_name));
    std::function<void(const std::string&)> log;
    if (!o.json) log = [](const std::string& l) { std::fputs(l.c_str(), stderr); };
    ao.log = log;
    prune::AmcResult r;
    try {
        r = prune::amc_search(*f.model, f.model_name, val, ao);
    } catch (const InputError& e) {
        throw InputError(o.model, e.detail());
    }
    Json how{{"from", f.model_name}, {"method", "amc"}, {"episodes", o.episodes}, {"seed", o.seed},
             {"bn_calib_images", o.bn_calib_images}, {"best_val_accuracy", r.best_val_accuracy}};
    if (o.flops) how["flops"] = *o.flops;
    else how["latency_ms"] = ao.latency_ms;
    const double test_acc = write_searched_model(o, f, r.model_name, *r.model, how.dump(), recipe, log);
    if (o.json) {
        Json eps = Json::array();
        for (const auto& e : r.history)
            eps.push_back(Json{{"episode", e.episode}, {"widths", e.widths}, {"cost", e.cost},
                               {"val_accuracy", e.val_accuracy}, {"reward", e.reward}});
        Json j{{"input", o.model}, {"output", o.output}, {"method", "amc"}, {"model_after", r.model_name},
               {"widths", nn::models::pruned_arch_of(r.model_name).widths}, {"best_reward", r.best_reward},
               {"best_val_accuracy", r.best_val_accuracy}, {"best_episode", r.best_episode},
               {"val_images", val.size()}, {"bn_calib_images", o.bn_calib_images}, {"macs_before", r.macs_before}, {"macs_after", r.macs_after},
               {"latency_before_ms", r.latency_before_ms}, {"latency_after_ms", r.latency_after_ms},
               {"episodes", eps}};
        if (o.flops) j["flops_target"] = *o.flops;
        else j["latency_budget_ms"] = ao.latency_ms;
        if (test_acc >= 0) j["test_accuracy"] = test_acc;
        print_json(j);
        return;
    }
    std::printf("%s -> %s: amc, %lld episodes, best at %lld (val accuracy %s %% on %lld images, no fine-tuning), "
                "MACs %lld -> %lld, predicted latency %s -> %s ms\n%s\n",
                o.model.c_str(), o.output.c_str(), static_cast<long long>(o.episodes),
                static_cast<long long>(r.best_episode + 1), fmt_fixed(100 * r.best_val_accuracy, 2).c_str(),
                static_cast<long long>(val.size()), static_cast<long long>(r.macs_before),
                static_cast<long long>(r.macs_after), fmt_fixed(r.latency_before_ms, 3).c_str(),
                fmt_fixed(r.latency_after_ms, 3).c_str(), r.model_name.c_str());
    if (test_acc >= 0) std::printf("fine-tuned: test accuracy %s %%\n", fmt_fixed(100 * test_acc, 2).c_str());
}

}  // namespace

bool is_channel_method(const std::string& method) {
    return method == "l1" || method == "bn" || method == "taylor" || method == "regression" || method == "netadapt" ||
           method == "amc";
}

void run_channel_prune(const ChannelPruneCliOptions& o) {
    if (o.scan) return run_scan(o);
    if (o.output.empty()) throw UsageError("-o", "give the output file: -o OUT.safetensors");
    if (o.method == "netadapt") return run_netadapt(o);
    if (o.method == "amc") return run_amc(o);
    prune::ChannelPruneRequest req;
    req.input = o.model;
    req.output = o.output;
    req.method = o.method;
    if (!o.widths.empty()) {
        if (o.flops) throw UsageError("--widths", "give either --flops F or --widths, not both");
        req.widths = parse_widths(o.widths);
    } else if (!o.flops) {
        throw UsageError("--flops", "give --flops F in (0, 1] (fraction of MACs kept) or --widths W1,W2,...");
    } else {
        req.flops = *o.flops;
    }
    req.width_multiple = o.width_multiple;
    req.sensitivity = o.sensitivity;
    req.finetune_epochs = o.finetune_epochs;
    req.train_subset = o.train_subset;
    req.calibration_batches = o.calib_batches;
    if (!o.json) req.log = [](const std::string& line) { std::fputs(line.c_str(), stderr); };
    print_report(o, prune::prune_classifier_channels(req));
}

}  // namespace tern::cli
