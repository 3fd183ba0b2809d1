#include "nas/ofa_search.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/version.h"
#include "hw/latency_table.h"
#include "nas/build.h"
#include "nas/proxyless.h"
#include "nas/strategy.h"
#include "nn/train/model_file.h"
#include "nn/train/trainer.h"

namespace tern::nas {
namespace {

void check_ofa_options(const OfaOptions& o) {
    if (o.latency_ms < 0 || o.params < 0 || o.macs < 0) throw UsageError("budget", "--latency-ms, --params and --macs must be positive");
    if (o.max_evals < 1 || o.max_evals > 100000) throw UsageError("--max-evals", "must be in [1, 100000]");
    if (o.population < 1 || o.tournament < 1) throw UsageError("ofa", "population and tournament must be positive");
    if (o.bn_images < 1) throw UsageError("ofa", "batch-norm recalibration needs at least one image");
}

std::string over_budget(const OfaOptions& o, const ArchCost& c, double ms) {
    if (o.params > 0 && c.params > o.params) return format("%lld parameters (budget %lld)", (long long)c.params, (long long)o.params);
    if (o.macs > 0 && c.macs > o.macs) return format("%lld MACs (budget %lld)", (long long)c.macs, (long long)o.macs);
    if (o.latency_ms > 0 && ms > o.latency_ms) return format("a predicted %.3f ms (budget %g ms)", ms, o.latency_ms);
    return "";
}

std::map<std::string, std::string> supernet_metadata(const OfaSupernet& net, const data::ImageDataset& train, const OfaOptions& o) {
    return {{"tern.format", "classifier-v1"},
            {"tern.model", model_name(net.largest())},
            {"tern.data", o.data},
            {"tern.in_channels", std::to_string(train.channels())},
            {"tern.num_classes", std::to_string(train.num_classes)},
            {"tern.ofa.supernet", "progressive-shrinking"},
            {"tern.ofa.epochs_per_phase", std::to_string(o.train.epochs_per_phase)},
            {"tern.ofa.train_subset", std::to_string(o.train_subset)},
            {"tern.ofa.seed", std::to_string(o.train.seed)},
            {"tern.version", kTernVersion}};
}

// The supernet in `o.supernet` when that file exists and fits, else nullptr.
std::shared_ptr<nn::models::MobileNetV2> load_supernet(const Arch& largest, const OfaOptions& o) {
    if (o.supernet.empty() || !std::filesystem::exists(o.supernet)) return nullptr;
    register_model_family();
    nn::train::ClassifierFile f = nn::train::load_classifier(o.supernet);
    auto meta = [&](const std::string& k) {
        auto it = f.metadata.find(k);
        return it == f.metadata.end() ? std::string() : it->second;
    };
    if (meta("tern.ofa.supernet").empty()) throw InputError(o.supernet, "is not a Once-for-All supernet (no tern.ofa.supernet metadata)");
    if (f.model_name != model_name(largest)) throw InputError(o.supernet, "is the supernet of another search space (its largest architecture differs)");
    // Its training images must be this run's: another split could put them in the validation images.
    if (meta("tern.ofa.train_subset") != std::to_string(o.train_subset) || meta("tern.ofa.seed") != std::to_string(o.train.seed))
        throw InputError(o.supernet, format("was trained with --train-subset %s --seed %s; this run uses %lld and %llu (the validation "
                                            "images would differ from the ones it never saw)",
                                            meta("tern.ofa.train_subset").c_str(), meta("tern.ofa.seed").c_str(),
                                            (long long)o.train_subset, (unsigned long long)o.train.seed));
    auto m = std::dynamic_pointer_cast<nn::models::MobileNetV2>(f.model);
    if (!m) throw InputError(o.supernet, "is not a MobileNetV2 supernet");
    return m;
}

}  // namespace

Space ofa_space(const Space& s, const std::string& where) {
    validate_space(s, where);
    for (int64_t e : s.expansions)
        if (e < 2) throw InputError(where, "the ofa strategy needs every expansion >= 2 (expansion 1 has no expand conv to share)");
    Space o = s;
    o.widths = {*std::max_element(s.widths.begin(), s.widths.end())};
    return o;
}

OfaResult ofa_search(const Space& space, const data::ImageDataset& train, const data::ImageDataset& validation, const OfaOptions& o) {
    check_ofa_options(o);
    if (train.size() < 1 || validation.size() < 1) throw InputError("ofa", "needs training and validation images");
    auto log = [&](const std::string& line) {
        if (o.log) o.log(line);
    };
    const Space s = ofa_space(space, o.space_name);
    const double width = s.widths[0];
    const int64_t in_ch = train.channels(), classes = train.num_classes;
    OfaResult res;

    const Arch smallest = smallest_arch(s), largest = largest_arch(s, width);
    // A budget the smallest subnet misses is missed by all of them (params and MACs first: no timing needed).
    const ArchCost smallest_cost = arch_cost(smallest, in_ch, classes);
    auto unmeetable = [&](const std::string& over) {
        return InputError("budget", "no subnet of the '" + o.space_name + "' supernet meets it: the smallest has " + over +
                                        " (loosen --latency-ms / --params / --macs)");
    };
    if (const std::string over = over_budget(o, smallest_cost, 0); !over.empty()) throw unmeetable(over);

    // Latency predictor: the table's per-block entries, calibrated on two measured subnets.
    TableLatency table;
    if (!o.layer_latency) table = default_table_latency();
    const std::vector<MixedSlot> slots = mixed_slots(s, width, o.space_name);
    SlotLatencies lat = slot_latencies(s, width, slots, o.layer_latency ? o.layer_latency : table.latency, in_ch, classes);
    if (table.save) table.save();
    const LatencyEstimator measured = o.measured ? o.measured : measured_latency();
    std::vector<std::pair<double, double>> calibration;
    for (const Arch& a : {smallest, largest}) calibration.emplace_back(lat.of(arch_choice(a, slots)), measured(a));
    res.latency_scale = hw::fit_scale(calibration);
    apply_scale(lat, res.latency_scale);
    auto predicted = [&](const Arch& a) { return lat.of(arch_choice(a, slots)); };

    if (const std::string over = over_budget(o, smallest_cost, predicted(smallest)); !over.empty()) throw unmeetable(over);

    std::unique_ptr<OfaSupernet> net;
    if (auto loaded = load_supernet(largest, o)) {
        net = std::make_unique<OfaSupernet>(s, width, loaded);
        res.reused_supernet = true;
        log("ofa: reusing the trained supernet " + o.supernet + "\n");
    } else {
        net = std::make_unique<OfaSupernet>(s, width, in_ch, classes, o.train.seed);
        log(format("ofa: training the supernet %s by progressive shrinking on %lld TRAIN images\n", arch_to_string(largest).c_str(),
                   (long long)train.size()));
        res.train = train_progressive(*net, s, train, o.train);
        res.train_cpu_seconds = res.train.cpu_seconds;
        if (!o.supernet.empty()) {
            nn::train::save_classifier(o.supernet, net->full(), supernet_metadata(*net, train, o));
            log("ofa: wrote the supernet to " + o.supernet + "\n");
        }
    }
    const double search_cpu0 = process_cpu_seconds();

    std::map<std::string, double> accuracy_cache;  // evolution may revisit a subnet
    auto judge = [&](const Arch& a) {
        auto m = net->extract(a);
        recalibrate_batch_norm(*m, train, o.bn_images);
        return std::make_pair(m, nn::train::evaluate(*m, validation).accuracy);
    };
    const Feasible feasible = [&](const Arch& a) { return over_budget(o, arch_cost(a, in_ch, classes), predicted(a)).empty(); };
    const Evaluate evaluate = [&](const Arch& a) {
        const std::string key = arch_to_string(a);
        const auto t0 = std::chrono::steady_clock::now();
        OfaCandidate c;
        c.arch = a;
        c.cost = arch_cost(a, in_ch, classes);
        c.predicted_ms = predicted(a);
        auto it = accuracy_cache.find(key);
        c.val_accuracy = it != accuracy_cache.end() ? it->second : (accuracy_cache[key] = judge(a).second);
        c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        res.history.push_back(c);
        log(format("[ofa %zu/%lld] %lld params, %lld MACs, predicted %.3f ms, val acc %.2f%%  %s\n", res.history.size(),
                   (long long)o.max_evals, (long long)c.cost.params, (long long)c.cost.macs, c.predicted_ms, 100 * c.val_accuracy, key.c_str()));
        return c.val_accuracy;
    };
    StrategyOptions so;
    so.max_evals = o.max_evals;
    so.seed = o.train.seed;
    so.population = o.population;
    so.tournament = o.tournament;
    const std::vector<Evaluated> hist = regularized_evolution(s, so, feasible, evaluate);
    const Evaluated& win = best_of(hist);
    res.best = win.arch;
    res.val_accuracy = win.fitness;
    res.predicted_ms = predicted(win.arch);
    res.model = judge(win.arch).first;
    res.search_cpu_seconds = process_cpu_seconds() - search_cpu0;
    return res;
}

}  // namespace tern::nas
