#include "nas/search.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/output_path.h"
#include "core/png.h"
#include "core/version.h"
#include "core/stopwatch.h"
#include "nas/build.h"
#include "nas/pareto.h"
#include "nas/sampler.h"
#include "nas/strategy.h"
#include "nn/train/model_file.h"
#include "nn/train/recipe.h"
#include "nn/train/run_report.h"
#include "nn/train/trainer.h"

namespace tern::nas {
namespace {

using Clock = std::chrono::steady_clock;

void check_options(const SearchOptions& o) {
    if (o.strategy != "random" && o.strategy != "evolution" && o.strategy != "zeroshot" && o.strategy != "proxyless" &&
        o.strategy != "darts" && o.strategy != "ofa" && o.strategy != "rl")
        throw UsageError("--strategy", "'" + o.strategy + "' is not one of random, evolution, zeroshot, proxyless, darts, ofa, rl");
    if (o.strategy != "rl" && (o.rl_lr != SearchOptions{}.rl_lr || o.rl_entropy != SearchOptions{}.rl_entropy || o.rl_hard))
        throw UsageError("--rl-lr", "--rl-lr, --rl-entropy and --rl-reward are options of the rl strategy");
    if (!(o.rl_lr > 0 && o.rl_lr <= 10)) throw UsageError("--rl-lr", "must be in (0, 10]");
    if (!(o.rl_entropy >= 0 && o.rl_entropy <= 10)) throw UsageError("--rl-entropy", "must be in [0, 10]");
    if (!(o.rl_baseline_decay >= 0 && o.rl_baseline_decay < 1)) throw UsageError("rl", "the baseline decay must be in [0, 1)");
    if (o.strategy != "ofa" && !o.supernet.empty()) throw UsageError("--supernet", "only the ofa strategy trains a reusable supernet");
    if (o.strategy != "ofa" && o.ofa_steps != 0) throw UsageError("--ofa-steps", "only the ofa strategy has shrinking phases");
    if (o.ofa_steps < 0) throw UsageError("--ofa-steps", "must be positive");
    if (!o.supernet.empty() && same_file(o.supernet, o.output)) throw UsageError("--supernet", "must not be the output file");
    if (o.strategy == "proxyless" && !(o.budget.latency_ms > 0))
        throw UsageError("--latency-ms", "the proxyless strategy needs a latency target (--latency-ms X)");
    if (o.search_epochs < 1 || o.search_epochs > 1000) throw UsageError("--search-epochs", "must be in [1, 1000]");
    if (o.max_steps < 0) throw UsageError("--max-evals", "must be positive");
    if (o.max_evals < 1 || o.max_evals > 100000) throw UsageError("--max-evals", "must be in [1, 100000]");
    if (o.epochs < 1 || o.epochs > 1000) throw UsageError("--epochs", "must be in [1, 1000]");
    if (o.train_subset < 10 || o.train_subset > 60000) throw UsageError("--train-subset", "must be in [10, 60000]");
    if (o.budget.latency_ms < 0 || o.budget.params < 0 || o.budget.macs < 0)
        throw UsageError("budget", "--latency-ms, --params and --macs must be positive");
    if (o.output.empty()) throw UsageError("-o", "an output model file is required");
}

// The recipe a candidate trains with: the zoo's defaults (SGD, cosine) on the subset.
nn::train::Recipe candidate_recipe(const SearchOptions& o, const Arch& a) {
    nn::train::Recipe r;
    r.model = model_name(a);
    r.data = o.data;
    r.data_dir = o.data_dir;
    r.epochs = o.epochs;
    r.batch_size = o.batch_size;
    r.optimizer.lr = 0.05f;
    r.train_subset = o.train_subset;
    r.validation = std::max<int64_t>(2, o.train_subset / 5);
    r.seed = o.seed;
    r.output = o.output;
    r.source = "search";
    return r;
}

std::string csv_number(double v) { return std::isfinite(v) ? format("%.6g", v) : ""; }

// Says why `a` is over the budget, or "" when it fits.
std::string over_budget(const Budget& b, const ArchCost& c, double latency_ms) {
    if (b.params > 0 && c.params > b.params) return format("%lld parameters", (long long)c.params);
    if (b.macs > 0 && c.macs > b.macs) return format("%lld MACs", (long long)c.macs);
    if (b.latency_ms > 0 && latency_ms > b.latency_ms) return format("%.3f ms", latency_ms);
    return "";
}

}  // namespace

SupernetSearchCommon supernet_common(const SearchOptions& o) {
    SupernetSearchCommon c;
    static_cast<Budget&>(c) = o.budget;
    c.space_name = o.space_name;
    c.layer_latency = o.layer_latency;
    c.measured = o.latency;
    c.log = o.log;
    return c;
}

// The options proxyless and darts take alike from the search's.
template <class Options>
Options gradient_search_options(const SearchOptions& o) {
    Options r;
    static_cast<SupernetSearchCommon&>(r) = supernet_common(o);
    r.search_epochs = o.search_epochs;
    r.max_steps = o.max_steps;
    r.batch_size = o.batch_size;
    r.seed = o.seed;
    return r;
}

std::string search_csv(const std::vector<CandidateRow>& rows) {
    std::string s = "index,arch,params,macs,latency_ms,trained,val_accuracy,train_seconds";
    for (const auto& n : proxy_names()) s += ",proxy_" + n;
    s += "\n";
    for (size_t i = 0; i < rows.size(); ++i) {
        const CandidateRow& r = rows[i];
        std::string arch = arch_to_string(r.arch), quoted;
        for (char c : arch) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        s += format("%zu,\"%s\",%lld,%lld,%s,%d,%s,%s", i, quoted.c_str(), (long long)r.cost.params, (long long)r.cost.macs,
                    csv_number(r.latency_ms).c_str(), r.trained ? 1 : 0,
                    r.trained ? csv_number(r.val_accuracy).c_str() : "", r.trained ? format("%.2f", r.train_seconds).c_str() : "");
        for (const auto& n : proxy_names()) s += "," + csv_number(proxy_value(r.proxies, n));
        s += "\n";
    }
    return s;
}

std::string rl_steps_csv(const std::vector<RlStep>& steps) {
    std::string s = "step,params,macs,feasible,reused,val_accuracy,reward,baseline,advantage,log_prob,entropy,arch\n";
    for (const RlStep& st : steps) {
        const ArchCost c = arch_cost(st.arch);
        std::string quoted;
        for (char ch : arch_to_string(st.arch)) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        s += format("%lld,%lld,%lld,%d,%d,%s,%s,%s,%s,%s,%s,\"%s\"\n", (long long)st.step, (long long)c.params,
                    (long long)c.macs, st.feasible ? 1 : 0, st.reused ? 1 : 0, st.feasible ? csv_number(st.fitness).c_str() : "",
                    csv_number(st.reward).c_str(), csv_number(st.baseline).c_str(), csv_number(st.advantage).c_str(),
                    csv_number(st.log_prob).c_str(), csv_number(st.entropy).c_str(), quoted.c_str());
    }
    return s;
}

SearchResult run_search(const SearchOptions& o) {
    check_options(o);
    register_model_family();  // the candidates' trainers build "nas:" models by name
    validate_space(o.space, o.space_name);
    const auto t0 = Clock::now();
    const double cpu0 = process_cpu_seconds();
    const bool proxyless = o.strategy == "proxyless", ofa = o.strategy == "ofa", darts = o.strategy == "darts";
    const bool rl = o.strategy == "rl", gradient = proxyless || darts;  // a supernet whose alpha picks one architecture
    const std::string steps_suffix = "." + o.strategy + ".csv";
    const std::string csv_path = o.output + ".search.csv", steps_path = o.output + steps_suffix, rl_path = o.output + ".rl.csv";
    std::vector<std::string> inputs{o.space_name};
    if (!o.supernet.empty()) inputs.push_back(o.supernet);
    std::vector<std::string> sidecars{".search.csv"};
    if (gradient) sidecars.push_back(steps_suffix);
    if (rl) sidecars.push_back(".rl.csv");
    check_output_path(o.output, inputs, sidecars);
    // The extra files must not overwrite what the search reads or writes.
    std::vector<std::string> taken = inputs;
    taken.push_back(o.output);
    for (const auto& suffix : sidecars) taken.push_back(o.output + suffix);
    for (const std::string* extra : {&o.pareto_png, &o.history_csv})
        if (!extra->empty()) {
            check_output_path(*extra, taken);
            taken.push_back(*extra);
        }
    auto log = [&](const std::string& line) {
        if (o.log) o.log(line);
    };
    const LatencyEstimator latency = o.latency ? o.latency : measured_latency();

    // A budget the smallest architecture misses is missed by all of them.
    const Arch smallest = smallest_arch(o.space);
    const ArchCost small_cost = arch_cost(smallest);
    // proxyless and darts check their own (table-predicted) latency budget, steadier than one measurement on a loaded
    // machine. ofa predicts latency from the table too, and checks the smallest subnet of its supernet itself.
    const double small_latency = o.budget.latency_ms > 0 && !gradient && !ofa ? latency(smallest) : 0;
    if (const std::string over = over_budget(o.budget, small_cost, small_latency); !over.empty())
        throw InputError("budget", "no architecture of the search space '" + o.space_name + "' meets it: the smallest has " +
                                       over + " (loosen --latency-ms / --params / --macs)");

    nn::train::Recipe base = candidate_recipe(o, smallest);
    const nn::train::TrainData data = nn::train::load_train_data(base);
    // The proxies' batch: the first images of the training split.
    const int64_t pb = std::min(o.proxy_batch, data.train->size());
    Tensor proxy_images = Tensor::empty({pb, data.train->channels(), data.train->height(), data.train->width()});
    std::memcpy(proxy_images.data<float>(), data.train->image(0),
                static_cast<size_t>(pb * data.train->image_numel()) * sizeof(float));
    const std::vector<int32_t> proxy_labels(data.train->labels.begin(), data.train->labels.begin() + pb);
    log(format("search %s (%.3g architectures) with %s: %lld train / %lld validation images, %lld epoch(s) per candidate\n",
               o.space_name.c_str(), space_size(o.space), o.strategy.c_str(), (long long)data.train->size(),
               (long long)(data.validation ? data.validation->size() : 0), (long long)o.epochs));

    std::map<std::string, double> latency_cache;  // measured once per architecture
    auto latency_of = [&](const Arch& a) {
        const std::string key = arch_to_string(a);
        auto it = latency_cache.find(key);
        if (it != latency_cache.end()) return it->second;
        return latency_cache[key] = latency(a);
    };
    const Feasible feasible = [&](const Arch& a) {
        const ArchCost c = arch_cost(a);
        if (!over_budget({0, o.budget.params, o.budget.macs}, c, 0).empty()) return false;
        return o.budget.latency_ms <= 0 || latency_of(a) <= o.budget.latency_ms;
    };

    SearchResult res;
    std::shared_ptr<nn::UnaryModule> best_model;
    size_t best_row = 0;
    auto score_row = [&](const Arch& a) {
        CandidateRow row;
        row.arch = a;
        row.cost = arch_cost(a);
        row.latency_ms = latency_of(a);
        row.proxies = compute_proxies(a, proxy_images, proxy_labels, o.seed);
        return row;
    };
    auto train_row = [&](CandidateRow& row) {
        const auto t = Clock::now();
        nn::train::Trainer trainer(candidate_recipe(o, row.arch), data);
        row.trained = true;
        try {
            while (!trainer.finished()) trainer.train_epoch();
            row.val_accuracy = trainer.history().back().val_accuracy;
        } catch (const InputError& e) {
            // A candidate whose training diverges (non-finite loss or logits) is a
            // bad architecture for this budget, not a reason to stop the search.
            if (e.where() != "search" && e.where() != "evaluate") throw;
            log("candidate diverged, scored 0: " + e.detail() + "\n");
            row.val_accuracy = 0;
        }
        row.train_seconds = seconds_since(t);
        if (!best_model || row.val_accuracy > res.rows[best_row].val_accuracy) {
            best_model = trainer.model_ptr();
            best_row = res.rows.size();
        }
    };
    auto report = [&](const CandidateRow& row) {
        log(format("[%zu/%lld] %lld params, %lld MACs, %.3f ms%s  %s\n", res.rows.size(), gradient ? 1LL : (long long)o.max_evals,
                   (long long)row.cost.params, (long long)row.cost.macs, row.latency_ms,
                   row.trained ? format(", val acc %s (%.1fs)", nn::train::pct(row.val_accuracy).c_str(), row.train_seconds).c_str() : "",
                   arch_to_string(row.arch).c_str()));
    };
    const Evaluate train_candidate = [&](const Arch& a) {
        CandidateRow row = score_row(a);
        train_row(row);
        res.rows.push_back(row);
        report(row);
        return row.val_accuracy;
    };

    StrategyOptions so;
    so.max_evals = o.max_evals;
    so.seed = o.seed;
    if (o.strategy == "random") {
        random_search(o.space, so, feasible, train_candidate);
    } else if (o.strategy == "evolution") {
        regularized_evolution(o.space, so, feasible, train_candidate);
    } else if (proxyless || darts) {
        // The supernet picks the architecture (proxyless: two paths a slot under binary gates;
        // darts: every op mixed by softmax(alpha)), which then trains from scratch.
        if (!data.validation) throw InputError("search", o.strategy + " needs a validation split (a larger --train-subset)");
        res.gradient_search = proxyless ? proxyless_search(o.space, *data.train, *data.validation, gradient_search_options<ProxylessOptions>(o))
                                        : darts_search(o.space, *data.train, *data.validation, gradient_search_options<DartsOptions>(o));
        res.search_cpu_seconds = res.gradient_search->cpu_seconds;
        train_candidate(res.gradient_search->arch);
    } else if (rl) {  // a REINFORCE controller samples; each sample within the budget trains like evolution's
        RlOptions ro;
        ro.max_evals = o.max_evals;
        ro.seed = o.seed;
        ro.lr = o.rl_lr;
        ro.entropy_weight = o.rl_entropy;
        ro.baseline_decay = o.rl_baseline_decay;
        if (o.rl_hard) ro.alpha = 0, ro.beta = -1;
        ro.cost_ratios = [&](const Arch& a) {
            const ArchCost c = arch_cost(a);
            std::vector<double> r;
            if (o.budget.params > 0) r.push_back(static_cast<double>(c.params) / static_cast<double>(o.budget.params));
            if (o.budget.macs > 0) r.push_back(static_cast<double>(c.macs) / static_cast<double>(o.budget.macs));
            if (o.budget.latency_ms > 0) r.push_back(latency_of(a) / o.budget.latency_ms);
            return r;
        };
        ro.on_step = [&](const RlStep& st) {
            const ArchCost c = arch_cost(st.arch);
            // Latency only where it was measured already (trained samples, or any under a latency budget).
            const std::string ms = st.feasible || o.budget.latency_ms > 0 ? format(", %.3f ms", latency_of(st.arch)) : "";
            log(format("[rl step %lld] %lld params, %lld MACs%s, %s: reward %.4f, baseline %.4f, entropy %.3f  %s\n",
                       (long long)st.step, (long long)c.params, (long long)c.macs, ms.c_str(),
                       !st.feasible ? "over budget, not trained" : st.reused ? "sampled before" : "trained", st.reward,
                       st.baseline, st.entropy, arch_to_string(st.arch).c_str()));
        };
        res.rl = reinforce_search(o.space, ro, feasible, train_candidate);
    } else if (ofa) {  // one supernet, subnets judged with shared weights (no retraining)
        if (!data.validation) throw InputError("search", "ofa needs a validation split (a larger --train-subset)");
        OfaOptions fo;
        static_cast<SupernetSearchCommon&>(fo) = supernet_common(o);
        fo.max_evals = o.max_evals;
        fo.supernet = o.supernet;
        fo.train_subset = o.train_subset;
        fo.data = o.data;
        fo.bn_images = o.ofa_bn_images;
        fo.train.epochs_per_phase = o.epochs;
        fo.train.max_steps_per_phase = o.ofa_steps;
        fo.train.batch_size = o.batch_size;
        fo.train.seed = o.seed;
        fo.train.log = o.log;
        res.ofa = ofa_search(o.space, *data.train, *data.validation, fo);
        for (const OfaCandidate& c : res.ofa->history) {
            CandidateRow row;
            row.arch = c.arch;
            row.cost = c.cost;
            row.latency_ms = c.predicted_ms;  // predicted; the winner is measured below
            row.trained = true;               // judged: shared weights, recalibrated batch norm
            row.val_accuracy = c.val_accuracy;
            row.train_seconds = c.seconds;
            if (res.rows.empty() || row.val_accuracy > res.rows[best_row].val_accuracy) best_row = res.rows.size();
            res.rows.push_back(row);
        }
        best_model = res.ofa->model;
        res.ofa->model.reset();
        res.rows[best_row].latency_ms = latency_of(res.rows[best_row].arch);
        res.search_cpu_seconds = res.ofa->train_cpu_seconds + res.ofa->search_cpu_seconds;
    } else {  // zeroshot: score every draw by NASWOT at initialisation, train only the best
        random_search(o.space, so, feasible, [&](const Arch& a) {
            res.rows.push_back(score_row(a));
            report(res.rows.back());
            return res.rows.back().proxies.naswot;
        });
        size_t top = 0;
        for (size_t i = 1; i < res.rows.size(); ++i)
            if (res.rows[i].proxies.naswot > res.rows[top].proxies.naswot) top = i;
        CandidateRow row = res.rows[top];
        train_row(row);
        best_row = top;
        res.rows[top] = row;
        log(format("trained the top NASWOT architecture: val acc %s\n", nn::train::pct(row.val_accuracy).c_str()));
    }

    if (!gradient && !ofa) res.search_cpu_seconds = process_cpu_seconds() - cpu0;

    // Rank correlations of each proxy with validation accuracy over trained rows.
    std::vector<double> acc;
    for (const auto& r : res.rows)
        if (r.trained) acc.push_back(r.val_accuracy);
    if (acc.size() >= 3)
        for (const auto& n : proxy_names()) {
            std::vector<double> p;
            for (const auto& r : res.rows)
                if (r.trained) p.push_back(proxy_value(r.proxies, n));
            res.proxy_rank[n] = {spearman(p, acc), kendall_tau(p, acc)};
        }

    // Only the winner, chosen on validation, sees the test split.
    const CandidateRow& win = res.rows[best_row];
    const data::ImageDataset test = nn::train::load_test_data(o.data, o.data_dir);
    const nn::train::EvalResult t = nn::train::evaluate(*best_model, test);
    const nn::train::Recipe wr = candidate_recipe(o, win.arch);
    std::map<std::string, std::string> meta;
    meta["tern.format"] = "classifier-v1";
    meta["tern.model"] = wr.model;
    meta["tern.data"] = o.data;
    meta["tern.in_channels"] = std::to_string(test.channels());
    meta["tern.num_classes"] = std::to_string(test.num_classes);
    meta["tern.recipe"] = nn::train::recipe_to_json(wr).dump();
    meta["tern.epochs"] = std::to_string(o.epochs);
    meta["tern.val_accuracy"] = std::to_string(win.val_accuracy);
    meta["tern.test_accuracy"] = std::to_string(t.accuracy);
    meta["tern.test_loss"] = std::to_string(t.loss);
    meta["tern.nas.space"] = o.space_name;
    meta["tern.nas.strategy"] = o.strategy;
    meta["tern.nas.seed"] = std::to_string(o.seed);
    meta["tern.nas.params"] = std::to_string(win.cost.params);
    meta["tern.nas.macs"] = std::to_string(win.cost.macs);
    meta["tern.nas.latency_ms"] = format("%.4f", win.latency_ms);
    if (res.gradient_search) meta["tern.nas.predicted_latency_ms"] = format("%.4f", res.gradient_search->predicted_ms);
    if (res.ofa) {
        meta["tern.nas.predicted_latency_ms"] = format("%.4f", res.ofa->predicted_ms);
        meta["tern.nas.ofa"] = "subnet of a supernet trained by progressive shrinking, not retrained; batch norm recalibrated on " +
                               std::to_string(o.ofa_bn_images) + " TRAIN images";
        if (!o.supernet.empty()) meta["tern.nas.ofa_supernet"] = o.supernet;
    }
    meta["tern.nas.search_cpu_hours"] = format("%.5f", res.search_cpu_seconds / 3600);
    meta["tern.version"] = kTernVersion;
    nn::train::write_text_file(csv_path, search_csv(res.rows));
    if (res.gradient_search) {
        nn::train::write_text_file(steps_path, proxyless_csv(res.gradient_search->steps));
        res.steps_csv = steps_path;
    }
    if (res.rl) {
        nn::train::write_text_file(rl_path, rl_steps_csv(res.rl->steps));
        res.rl_csv = rl_path;
    }
    if (!o.history_csv.empty()) nn::train::write_text_file(o.history_csv, pareto_csv(res.rows, best_row));
    if (!o.pareto_png.empty()) write_png(o.pareto_png, render_pareto(res.rows, best_row, o.strategy));
    nn::train::save_classifier(o.output, *best_model, meta);

    res.best = win.arch;
    res.best_row = best_row;
    res.cost = win.cost;
    res.latency_ms = win.latency_ms;
    res.val_accuracy = win.val_accuracy;
    res.test_accuracy = t.accuracy;
    res.test_count = t.count;
    res.output = o.output;
    res.csv = csv_path;
    res.seconds = seconds_since(t0);
    res.total_cpu_seconds = process_cpu_seconds() - cpu0;
    return res;
}

}  // namespace tern::nas
