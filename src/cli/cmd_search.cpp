// tern search SPACE --strategy random|evolution|zeroshot|proxyless|darts|ofa|rl --data fashion-mnist [--latency-ms X] [--params N]
//             [--macs M] [--max-evals N] [--epochs E] [--search-epochs E] [--train-subset N] [--seed S]
//             [--supernet FILE] [--ofa-steps N] [--rl-lr X] [--rl-entropy X] [--rl-reward soft|hard]
//             [--history-csv FILE] [--pareto-png FILE] -o OUT [--json]
// SPACE is "mobilenet" (the built-in elastic MobileNetV2 space) or a space JSON
// file. Progress lines, OUT.search.csv (every candidate), and OUT: the winner
// by validation accuracy as a classifier file `tern eval OUT` takes.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/option_ranges.h"
#include "core/json_out.h"
#include "nas/search.h"
#include "nas/supernet_budget.h"
#include "nn/train/run_report.h"

namespace tern::cli {
namespace {

struct SearchCliOptions {
    std::string space;
    nas::SearchOptions search;
    bool json = false;
    bool max_evals_given = false;
    int threads = 0;
};

Json json_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

void run_search_command(SearchCliOptions& c) {
    apply_threads(c.threads);
    nas::SearchOptions o = c.search;
    o.space_name = c.space;
    o.space = c.space == "mobilenet" ? nas::mobilenet_space() : nas::load_space_file(c.space);
    if ((o.strategy == "proxyless" || o.strategy == "darts") && c.max_evals_given) o.max_steps = o.max_evals;  // bounds the supernet's steps
    FILE* progress = c.json ? stderr : stdout;  // stdout carries the JSON report
    o.log = [progress](const std::string& line) {
        std::fputs(line.c_str(), progress);
        std::fflush(progress);
    };
    const nas::SearchResult r = nas::run_search(o);
    if (c.json) {
        Json ranks = Json::object();
        for (const auto& [name, sk] : r.proxy_rank)
            ranks[name] = {{"spearman", json_or_null(sk.first)}, {"kendall", json_or_null(sk.second)}};
        Json j = {{"space", c.space}, {"strategy", o.strategy}, {"seed", o.seed}, {"evaluations", r.rows.size()},
                    {"arch", nas::arch_to_json(r.best)}, {"params", r.cost.params}, {"macs", r.cost.macs},
                    {"latency_ms", r.latency_ms}, {"val_accuracy", r.val_accuracy}, {"test_accuracy", r.test_accuracy},
                    {"test_images", r.test_count}, {"proxy_rank", ranks}, {"output", r.output}, {"search_csv", r.csv},
                    {"seconds", r.seconds}, {"search_cpu_hours", r.search_cpu_seconds / 3600},
                    {"total_cpu_hours", r.total_cpu_seconds / 3600}};
        if (const auto& g = r.gradient_search) {
            j["predicted_latency_ms"] = g->predicted_ms;
            j["width"] = g->width;
            j["latency_scale"] = g->latency_scale;
            j["argmax_arch"] = nas::arch_to_json(g->argmax);
            j["repairs"] = g->repairs;
            j["supernet_steps"] = g->steps.size();
            j["steps_csv"] = r.steps_csv;
            Json slots = Json::array();  // softmax(alpha) per slot, by candidate name
            for (size_t i = 0; i < g->slots.size(); ++i) {
                Json probs = Json::object();
                const std::vector<double> p = nas::softmax(g->alpha[i]);
                for (size_t k = 0; k < p.size(); ++k) probs[nas::candidate_name(g->slots[i].ops[k])] = p[k];
                slots.push_back({{"stage", g->slots[i].stage}, {"block", g->slots[i].index}, {"softmax_alpha", probs}});
            }
            j["alpha"] = slots;
        }
        if (r.ofa) {
            j["predicted_latency_ms"] = r.ofa->predicted_ms;
            j["latency_scale"] = r.ofa->latency_scale;
            j["supernet"] = o.supernet.empty() ? Json(nullptr) : Json(o.supernet);
            j["supernet_reused"] = r.ofa->reused_supernet;
            j["supernet_train_cpu_hours"] = r.ofa->train_cpu_seconds / 3600;
            j["ofa_search_cpu_hours"] = r.ofa->search_cpu_seconds / 3600;
            Json phases = Json::array();
            for (const auto& p : r.ofa->train.phases)
                phases.push_back({{"phase", p.name}, {"steps", p.steps}, {"first_loss", p.first_loss}, {"last_loss", p.last_loss},
                                  {"cpu_seconds", p.cpu_seconds}});
            j["phases"] = phases;
        }
        if (r.rl) {
            Json steps = Json::array();
            for (const nas::RlStep& st : r.rl->steps) {
                const nas::ArchCost cost = nas::arch_cost(st.arch);
                steps.push_back({{"step", st.step}, {"arch", nas::arch_to_string(st.arch)}, {"params", cost.params},
                                 {"macs", cost.macs}, {"feasible", st.feasible}, {"reused", st.reused},
                                 {"val_accuracy", st.feasible ? Json(st.fitness) : Json(nullptr)}, {"reward", st.reward},
                                 {"baseline", st.baseline}, {"entropy", st.entropy}});
            }
            j["rl_steps"] = steps;
            j["rl_csv"] = r.rl_csv;
            j["final_entropy"] = nas::policy_entropy(r.rl->policy);
        }
        if (!o.history_csv.empty()) j["history_csv"] = o.history_csv;
        if (!o.pareto_png.empty()) j["pareto_png"] = o.pareto_png;
        print_json(j);
        return;
    }
    for (const auto& [name, sk] : r.proxy_rank)
        std::printf("proxy %-9s vs val acc: Spearman %+.3f  Kendall %+.3f\n", name.c_str(), sk.first, sk.second);
    std::printf("best: %lld params, %lld MACs, %.3f ms (batch 1, 1 thread); val acc %s; TEST acc %s on %lld images\n"
                "%s\nwrote %s and %s in %s\n",
                (long long)r.cost.params, (long long)r.cost.macs, r.latency_ms, nn::train::pct(r.val_accuracy).c_str(),
                nn::train::pct(r.test_accuracy).c_str(), (long long)r.test_count, nas::arch_to_string(r.best).c_str(),
                r.output.c_str(), r.csv.c_str(), nn::train::fmt_duration(r.seconds).c_str());
    if (r.gradient_search)
        std::printf("%s: predicted %.3f ms (latency table x %.2f), measured %.3f ms; supernet log %s\n", o.strategy.c_str(),
                    r.gradient_search->predicted_ms, r.gradient_search->latency_scale, r.latency_ms, r.steps_csv.c_str());
    if (r.ofa)
        std::printf("ofa: predicted %.3f ms (latency table x %.2f), measured %.3f ms; supernet %s (%.4f CPU-hours), "
                    "evolution %.4f CPU-hours\n",
                    r.ofa->predicted_ms, r.ofa->latency_scale, r.latency_ms,
                    r.ofa->reused_supernet ? ("reused from " + o.supernet).c_str() : (o.supernet.empty() ? "trained" : ("trained, saved to " + o.supernet).c_str()),
                    r.ofa->train_cpu_seconds / 3600, r.ofa->search_cpu_seconds / 3600);
    if (r.rl)
        std::printf("rl: %zu controller steps, policy entropy %.3f -> %.3f nats; step log %s\n", r.rl->steps.size(),
                    r.rl->steps.front().entropy, nas::policy_entropy(r.rl->policy), r.rl_csv.c_str());
    if (!o.history_csv.empty()) std::printf("wrote every candidate to %s\n", o.history_csv.c_str());
    if (!o.pareto_png.empty()) std::printf("wrote the Pareto plot to %s\n", o.pareto_png.c_str());
    std::printf("search cost %.4f CPU-hours (whole run %.4f)\n", r.search_cpu_seconds / 3600, r.total_cpu_seconds / 3600);
}

}  // namespace

void add_search_command(CLI::App& app) {
    auto c = std::make_shared<SearchCliOptions>();
    auto& o = c->search;
    auto* cmd = app.add_subcommand("search", "Hardware-aware architecture search (elastic MobileNetV2 space)");
    cmd->add_option("space", c->space, "mobilenet (the built-in elastic space) or a search-space JSON file")->required();
    cmd->add_option("--strategy", o.strategy,
                    "random, evolution (regularized), zeroshot (NASWOT, trains the top one) or proxyless (supernet with "
                    "binarized paths and a latency loss; needs --latency-ms) or darts (DARTS, first order: every candidate mixed by "
                    "softmax(alpha), alpha on the validation fifth, optional latency term with --latency-ms) or ofa (Once-for-All: a supernet trained by "
                    "progressive shrinking with distillation, then evolution over its subnets, used without retraining) or rl (a "
                    "REINFORCE controller, MnasNet's reward; samples over the budget are not trained and score 0)")
        ->check(CLI::IsMember({"random", "evolution", "zeroshot", "proxyless", "darts", "ofa", "rl"}));
    cmd->add_option("--data", o.data, "dataset (fashion-mnist)")->check(CLI::IsMember({"fashion-mnist"}));
    cmd->add_option("--data-dir", o.data_dir, "dataset folder (default: the tern cache)");
    cmd->add_option("--latency-ms", o.budget.latency_ms, "budget: measured latency at batch 1, 1 thread")
        ->check(real_range(0, 1e6, true));
    cmd->add_option("--params", o.budget.params, "budget: parameters")->check(int_range(1, int64_t{1} << 40));
    cmd->add_option("--macs", o.budget.macs, "budget: multiply-accumulates per image")->check(int_range(1, int64_t{1} << 50));
    cmd->add_option("--max-evals", o.max_evals, "candidates trained (zeroshot: scored; proxyless, darts: supernet steps at most; ofa: subnets judged) (default 20)")
        ->check(int_range(1, 100000))
        ->each([c](const std::string&) { c->max_evals_given = true; });
    cmd->add_option("--epochs", o.epochs, "training epochs per candidate (proxyless, darts: of the found architecture; ofa: per shrinking phase) (default 1)")
        ->check(int_range(1, 1000));
    cmd->add_option("--search-epochs", o.search_epochs, "proxyless, darts: supernet epochs over the training images (default 1)")
        ->check(int_range(1, 1000));
    cmd->add_option("--supernet", o.supernet,
                    "ofa: the trained supernet's file, reused when it exists (same --train-subset and --seed), else trained and "
                    "written there, so several budgets share one training");
    cmd->add_option("--ofa-steps", o.ofa_steps, "ofa: steps per shrinking phase at most (default: all of --epochs)")
        ->check(int_range(1, 10000000));
    cmd->add_option("--rl-lr", o.rl_lr, "rl: Adam's step size on the controller's logits (default 0.05)")
        ->check(real_range(0, 10, true));
    cmd->add_option("--rl-entropy", o.rl_entropy, "rl: entropy bonus weight (default 0.01)")->check(real_range(0, 10));
    cmd->add_option_function<std::string>(
           "--rl-reward", [c](const std::string& v) { c->search.rl_hard = v == "hard"; },
           "rl: soft (accuracy x (cost/target)^-0.07, MnasNet's default) or hard (accuracy alone within the budget)")
        ->check(CLI::IsMember({"soft", "hard"}));
    cmd->add_option("--history-csv", o.history_csv, "every candidate with its cost, val accuracy and Pareto-front flags");
    cmd->add_option("--pareto-png", o.pareto_png, "scatter of val accuracy against MACs and latency, the Pareto front drawn");
    cmd->add_option("--train-subset", o.train_subset, "first N training images, a fifth of them for validation (default 10000)")
        ->check(int_range(10, 60000));
    cmd->add_option("--seed", o.seed, "search, split and initialisation seed (default 1)")->check(seed_range());
    cmd->add_option("-o,--output", o.output, "output model file (.safetensors); the log goes to OUT.search.csv")->required();
    cmd->add_flag("--json", c->json, "machine-readable report (progress on stderr)");
    add_threads_option(*cmd, c->threads);
    cmd->callback([c] { run_search_command(*c); });
}

}  // namespace tern::cli
