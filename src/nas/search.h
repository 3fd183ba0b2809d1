#pragma once
// A whole architecture search on an image dataset: candidates are drawn by a
// strategy under a budget, each trained briefly (E epochs on a training
// subset) and judged on a held-out validation split; the winner by validation
// accuracy alone is measured once on the TEST split and saved as an ordinary
// classifier file (tern.model "nas:<arch json>"), with a CSV log of every
// candidate (OUT.search.csv). `tern search` is argument parsing, this call and
// printing.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nas/arch.h"
#include "nas/cost.h"
#include "nas/darts.h"
#include "nas/ofa_search.h"
#include "nas/proxies.h"
#include "nas/proxyless.h"
#include "nas/rl.h"
#include "nas/supernet_options.h"

namespace tern::nas {

struct SearchOptions {
    std::string space_name = "mobilenet";  // for messages and metadata: "mobilenet" or the space file
    Space space = mobilenet_space();
    std::string strategy = "evolution";    // random | evolution | zeroshot | proxyless | darts | ofa | rl
    Budget budget;
    int64_t max_evals = 20;     // trained candidates (zeroshot: architectures scored by proxies; proxyless, darts: see max_steps; ofa: subnets judged; rl: samples within the budget)
    int64_t epochs = 1;         // training epochs per candidate (proxyless, darts: of the derived architecture, from scratch; ofa: per shrinking phase)
    int64_t search_epochs = 1;  // proxyless, darts: supernet epochs over the training images
    int64_t max_steps = 0;      // proxyless, darts: supernet steps at most (0: all of search_epochs); `tern search` sets it from --max-evals
    int64_t train_subset = 10000;  // first N training images; a fifth of them validate
    int64_t batch_size = 64;
    int64_t proxy_batch = 32;
    std::string supernet;         // ofa: the trained supernet's file (reused when it exists, else written); "": not kept
    int64_t ofa_steps = 0;        // ofa: steps per shrinking phase at most (0: all of `epochs`)
    int64_t ofa_bn_images = 500;  // ofa: TRAIN images for each subnet's batch-norm recalibration
    double rl_lr = 0.05;             // rl: Adam's step on the controller's logits
    double rl_entropy = 0.01;        // rl: entropy bonus weight
    double rl_baseline_decay = 0.9;  // rl: moving average of the rewards
    bool rl_hard = false;            // rl: MnasNet's hard-constraint exponents (0 within the budget) instead of -0.07
    std::string pareto_png, history_csv;  // "": not written
    uint64_t seed = 1;
    std::string data = "fashion-mnist", data_dir;
    std::string output;
    LatencyEstimator latency;  // empty: measured (cost.h)
    LayerLatency layer_latency;  // proxyless, darts, ofa: per-layer microseconds; empty: tern's latency table
    std::function<void(const std::string& line)> log;  // progress lines, '\n' included
};

struct CandidateRow {
    Arch arch;
    ArchCost cost;
    double latency_ms = 0;
    bool trained = false;
    double val_accuracy = 0;
    double train_seconds = 0;
    ProxyScores proxies;
};

struct SearchResult {
    Arch best;
    ArchCost cost;
    double latency_ms = 0, val_accuracy = 0, test_accuracy = 0;
    int64_t test_count = 0;
    std::vector<CandidateRow> rows;  // in evaluation order
    // Spearman and Kendall of each proxy against validation accuracy over the
    // trained candidates (when at least three were trained).
    std::map<std::string, std::pair<double, double>> proxy_rank;
    std::string output, csv;
    double seconds = 0;
    // CPU time of the search itself (random / evolution / zeroshot: drawing, scoring
    // and training the candidates; proxyless, darts: the supernet) and of the whole run
    // (with the final training and the test evaluation).
    double search_cpu_seconds = 0, total_cpu_seconds = 0;
    std::optional<ProxylessResult> gradient_search;  // proxyless or darts: the supernet's report
    std::string steps_csv;                           // proxyless, darts: OUT.<strategy>.csv, one line per supernet step
    std::optional<OfaResult> ofa;              // ofa: the supernet's training and the evolution (its `model` released)
    std::optional<RlResult> rl;                // rl: every controller step
    std::string rl_csv;                        // rl: OUT.rl.csv, one line per controller step
    size_t best_row = 0;                       // the winner's index in rows
};

// Throws UsageError for a bad option, InputError("budget", ...) when no
// architecture of the space meets the budget, and what the data loaders throw.
SearchResult run_search(const SearchOptions& o);

// The CSV log (header and one line per row).
std::string search_csv(const std::vector<CandidateRow>& rows);
// rl: one line per controller step (step, params, macs, feasible, reused,
// val_accuracy, reward, baseline, advantage, log_prob, entropy, arch).
std::string rl_steps_csv(const std::vector<RlStep>& steps);

}  // namespace tern::nas
