// tern prune MODEL.gguf -o OUT.gguf --method magnitude|wanda|sparsegpt (--sparsity S | --pattern N:M)
//            [--calib SPEC --calib-tokens N --calib-ctx C] [--sequential] [--json]
// tern prune MODEL.gguf -o OUT.gguf --method block-drop --blocks K --calib SPEC
// tern prune MODEL.safetensors -o OUT.safetensors --method magnitude|obd|obs --sparsity S [--calib-images N]
// Zeroes weights of a language model's block Linears and writes a GGUF in the
// input's types that tern and llama.cpp load, or drops whole blocks; zeroes a
// classifier's weights; classifier channels: cli/prune_channels.h. Reading, the
// methods and writing live in prune/ (prune_file.h, block_drop.h,
// weight_prune_file.h); this file parses and prints.
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/prune_channels.h"
#include "cli/prune_weights.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/table.h"
#include "prune/block_drop.h"
#include "prune/prune_file.h"
#include "prune/weight_prune_file.h"

namespace tern::cli {
namespace {

struct PruneCliOptions {
    std::string model, output, method;
    std::optional<double> sparsity;
    std::string pattern;
    std::string calib;
    int64_t calib_tokens = 4096;
    int64_t calib_ctx = 0;
    bool sequential = false;
    bool json = false;
    int threads = 0;
    ChannelPruneCliOptions channels;  // classifier files: --method l1|bn|taylor|regression|netadapt|amc, --scan
    int64_t calib_images = 2048;      // classifier files, obd / obs
    int64_t obd_batch = 8;            // obd: images per squared gradient
    int64_t blocks = 0;               // block-drop: K
};


std::string percent(double f) { return fmt_fixed(100.0 * f, 2) + " %"; }

void run_block_drop(const PruneCliOptions& o) {
    if (o.output.empty()) throw UsageError("-o", "give the output file: -o OUT.gguf");
    if (o.sparsity || !o.pattern.empty()) throw UsageError("--blocks", "block-drop takes --blocks K, not --sparsity / --pattern");
    prune::BlockDropOptions b{.input = o.model, .output = o.output, .blocks = o.blocks, .calibration = {}};
    b.calibration.calib = o.calib;
    b.calibration.n_tokens = o.calib_tokens;
    b.calibration.ctx = o.calib_ctx;
    const prune::BlockDropResult r =
        prune::drop_blocks(b, o.json ? std::function<void(const std::string&)>{}
                                     : [](const std::string& l) { std::fputs(l.c_str(), stderr); });
    if (o.json) {
        Json rounds = Json::array();
        for (const auto& rd : r.rounds) {
            Json ppl = Json::array();
            for (double p : rd.ppl_without) ppl.push_back(std::isfinite(p) ? Json(p) : Json(nullptr));
            rounds.push_back(Json{{"dropped", rd.dropped}, {"calib_ppl_without", ppl}});
        }
        print_json(Json{{"input", o.model}, {"output", o.output}, {"method", "block-drop"}, {"blocks_before", r.blocks_before},
                        {"blocks_after", r.blocks_before - static_cast<int64_t>(r.dropped.size())}, {"dropped", r.dropped},
                        {"calib", o.calib}, {"calib_tokens", r.calib_tokens}, {"calib_ppl_dense", r.calib_ppl_dense},
                        {"calib_ppl_after", r.calib_ppl_after}, {"params_before", r.params_before},
                        {"params_after", r.params_after}, {"rounds", rounds}});
        return;
    }
    std::string dropped;
    for (int64_t d : r.dropped) dropped += (dropped.empty() ? "" : ", ") + std::to_string(d);
    std::printf("%s -> %s: dropped block%s %s of %lld; calibration ppl %s -> %s (%lld tokens); parameters %lld -> %lld\n",
                o.model.c_str(), o.output.c_str(), r.dropped.size() > 1 ? "s" : "", dropped.c_str(),
                static_cast<long long>(r.blocks_before), fmt_fixed(r.calib_ppl_dense, 4).c_str(),
                fmt_fixed(r.calib_ppl_after, 4).c_str(), static_cast<long long>(r.calib_tokens),
                static_cast<long long>(r.params_before), static_cast<long long>(r.params_after));
}

void run_prune(const PruneCliOptions& o) {
    apply_threads(o.threads);
    if (o.method == "block-drop") return run_block_drop(o);
    if (o.blocks != 0) throw UsageError("--blocks", "only --method block-drop drops blocks");
    if (o.channels.scan || is_channel_method(o.method)) {
        ChannelPruneCliOptions c = o.channels;
        c.model = o.model;
        c.output = o.output;
        c.method = o.method.empty() ? "l1" : o.method;
        c.json = o.json;
        run_channel_prune(c);
        return;
    }
    // Fine-grained pruning of a classifier: obd and obs, and magnitude on a .safetensors input.
    if (prune::is_weight_prune_method(o.method) && (o.method != "magnitude" || o.model.ends_with(".safetensors"))) {
        if (o.output.empty()) throw UsageError("-o", "give the output file: -o OUT.safetensors");
        if (!o.pattern.empty()) throw UsageError("--pattern", "classifiers are pruned fine-grained here: give --sparsity S");
        if (!o.sparsity) throw UsageError("--sparsity", "give --sparsity S in [0, 1)");
        run_weight_prune({.model = o.model, .output = o.output, .method = o.method, .sparsity = *o.sparsity,
                          .calib_images = o.calib_images, .obd_batch = o.obd_batch, .json = o.json});
        return;
    }
    if (o.output.empty()) throw UsageError("-o", "give the output file: -o OUT.gguf");
    if (o.method.empty()) throw UsageError("--method", "give --method magnitude, wanda or sparsegpt");
    prune::llm_prune_method(o.method);
    if (o.sparsity && !o.pattern.empty())
        throw UsageError("--pattern", "give either --sparsity S (unstructured) or --pattern N:M, not both");
    if (!o.sparsity && o.pattern.empty())
        throw UsageError("--sparsity", "give --sparsity S in [0, 1) (unstructured) or --pattern N:M (2:4, 4:8)");
    prune::PruneFileRequest req{.input = o.model, .output = o.output, .recipe = {}};
    req.recipe.method = o.method;
    if (o.sparsity) req.recipe.sparsity = *o.sparsity;
    if (!o.pattern.empty()) req.recipe.pattern = prune::parse_nm_pattern(o.pattern);
    req.recipe.calibration.calib = o.calib;
    req.recipe.calibration.n_tokens = o.calib_tokens;
    req.recipe.calibration.ctx = o.calib_ctx;
    req.recipe.sequential = o.sequential;
    const prune::PrunedModel p = prune::prune_file(req);
    const std::string target = o.pattern.empty() ? percent(*o.sparsity) : o.pattern;
    if (o.json) {
        Json j;
        j["input"] = o.model;
        j["output"] = o.output;
        j["method"] = o.method;
        if (o.pattern.empty()) j["sparsity_target"] = *o.sparsity;
        else j["pattern"] = o.pattern;
        if (!o.calib.empty()) j["calib"] = o.calib;
        j["calib_tokens"] = p.calib_tokens;
        j["calib_passes"] = p.calib_passes;
        j["linear_weights"] = p.linear_weights;
        j["linear_zeros"] = p.linear_zeros;
        j["linear_sparsity"] = p.linear_sparsity();
        j["model_params"] = p.model_params;
        j["model_sparsity"] = p.model_params > 0 ? double(p.linear_zeros) / double(p.model_params) : 0.0;
        Json rows = Json::array();
        for (const auto& r : p.report) {
            Json t{{"name", r.name}, {"dtype", r.dtype}, {"rows", r.rows}, {"cols", r.cols}, {"zeros", r.zeros},
                   {"sparsity", r.sparsity()}};
            if (!r.note.empty()) t["note"] = r.note;
            rows.push_back(t);
        }
        j["tensors"] = rows;
        print_json(j);
        return;
    }
    TextTable table({"tensor", "type", "shape", "zeros", "sparsity", "note"});
    for (const auto& r : p.report)
        table.add_row({r.name, r.dtype, std::to_string(r.rows) + " x " + std::to_string(r.cols), std::to_string(r.zeros),
                       percent(r.sparsity()), r.note});
    table.print();
    std::printf("\n%s -> %s: %s %s; block Linears %s sparse (%lld of %lld weights), %s of all parameters\n",
                o.model.c_str(), o.output.c_str(), o.method.c_str(), target.c_str(), percent(p.linear_sparsity()).c_str(),
                static_cast<long long>(p.linear_zeros), static_cast<long long>(p.linear_weights),
                percent(p.model_params > 0 ? double(p.linear_zeros) / double(p.model_params) : 0.0).c_str());
}

}  // namespace

void add_prune_command(CLI::App& app) {
    auto o = std::make_shared<PruneCliOptions>();
    auto* cmd = app.add_subcommand("prune", "Zero weights of a language model's Linears (magnitude, Wanda, SparseGPT) or drop "
                                            "its least important blocks; zero a classifier's weights (magnitude, OBD, OBS) "
                                            "or remove its channels (L1, BN, Taylor, regression, NetAdapt, AMC)");
    cmd->add_option("model", o->model, "input language model (.gguf) or classifier (.safetensors)")->required();
    cmd->add_option("-o,--output", o->output,
                    "output file (.gguf, the input's tensor types; a classifier: .safetensors; --scan: .csv)");
    cmd->add_option("--method", o->method,
                    "magnitude, wanda, sparsegpt or block-drop (all but magnitude need --calib); classifiers: magnitude, obd, obs "
                    "(fine-grained, --sparsity) or l1, bn, taylor, regression, netadapt, amc (channels)");
    cmd->add_option("--sparsity", o->sparsity, "unstructured: fraction of each Linear's weights zeroed, in [0, 1)");
    cmd->add_option("--pattern", o->pattern, "N:M semi-structured: keep N of every M input weights of a row (2:4, 4:8)");
    cmd->add_option("--calib", o->calib, "calibration text: text:train, text:validation, text:test or text:FILE");
    cmd->add_option("--calib-tokens", o->calib_tokens, "calibration tokens, BOS included (default 4096)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
    cmd->add_option("--calib-ctx", o->calib_ctx, "tokens per calibration window (default: the model's context, at most 512)")
        ->check(CLI::Range(int64_t{2}, int64_t{1} << 30));
    cmd->add_flag("--sequential", o->sequential,
                  "calibrate block by block, each block seeing the blocks before it already pruned (one pass per "
                  "block; default: every block from the dense model in one pass)");
    cmd->add_option("--flops", o->channels.flops, "classifiers: fraction of the MACs kept, in (0, 1]");
    cmd->add_option("--widths", o->channels.widths, "classifiers: channels kept per prunable layer, W1,W2,...");
    cmd->add_option("--width-multiple", o->channels.width_multiple,
                    "classifiers, --flops: round kept widths down to multiples of N (8: faster SIMD widths; default 1)")
        ->check(CLI::Range(int64_t{1}, int64_t{64}));
    cmd->add_option("--sensitivity", o->channels.sensitivity,
                    "classifiers, --flops: per-layer ratios from a --scan CSV (smallest accuracy drop meeting the budget)");
    cmd->add_option("--finetune-epochs", o->channels.finetune_epochs,
                    "classifiers: fine-tune with the recipe stored in the model file (tern.recipe)")
        ->check(CLI::Range(int64_t{0}, int64_t{1000}));
    cmd->add_option("--train-subset", o->channels.train_subset, "classifiers: fine-tune on the first N training images")
        ->check(CLI::Range(int64_t{0}, int64_t{60000}));
    cmd->add_option("--calib-batches", o->channels.calib_batches, "classifiers, taylor and regression: calibration batches of 64 (training images)")
        ->check(CLI::Range(int64_t{1}, int64_t{1000}));
    cmd->add_option("--blocks", o->blocks, "block-drop: how many transformer blocks to drop (K < block count)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
    cmd->add_option("--obd-batch", o->obd_batch,
                    "classifiers, obd: images per gradient whose square enters the Fisher diagonal (default 8; 1 = per-sample Fisher)")
        ->check(CLI::Range(int64_t{1}, int64_t{4096}));
    cmd->add_option("--calib-images", o->calib_images, "classifiers, obd / obs: training images to calibrate on (default 2048)")
        ->check(CLI::Range(int64_t{1}, int64_t{60000}));
    cmd->add_flag("--scan", o->channels.scan,
                  "classifiers: validation accuracy vs channel sparsity of each layer alone (CSV + PNG; -o NAME.csv)");
    cmd->add_option("--val-images", o->channels.val_images, "classifiers: validation images for --scan, netadapt and amc")
        ->check(CLI::Range(int64_t{1}, int64_t{60000}));
    cmd->add_option("--latency-ms", o->channels.latency_ms, "netadapt, amc: latency budget in ms (latency table, 1 thread)");
    cmd->add_option("--latency-fraction", o->channels.latency_fraction, "netadapt, amc: budget as a fraction of the input's latency");
    cmd->add_option("--steps", o->channels.steps, "netadapt: fine-tune steps per candidate (default 200)")
        ->check(CLI::Range(int64_t{0}, int64_t{100000}));
    cmd->add_option("--latency-step", o->channels.latency_step,
                    "netadapt: latency cut per iteration, fraction of the input's latency (default 0.05)")
        ->check(CLI::Range(0.001, 0.9));
    cmd->add_option("--iterations", o->channels.iterations, "netadapt: at most this many iterations (default: to the budget)")
        ->check(CLI::Range(int64_t{0}, int64_t{1000}));
    cmd->add_option("--episodes", o->channels.episodes, "amc: search episodes (default 100)")
        ->check(CLI::Range(int64_t{1}, int64_t{100000}));
    cmd->add_option("--warmup", o->channels.warmup, "amc: episodes of random actions before the agent acts (default 20)")
        ->check(CLI::Range(int64_t{0}, int64_t{100000}));
    cmd->add_option("--seed", o->channels.seed, "amc: seed of the agent and its exploration (default 1)");
    cmd->add_option("--bn-calib-images", o->channels.bn_calib_images,
                    "amc: recalibrate each candidate's batch norms on N training images before its reward "
                    "(default 0: the paper's reward, statistics as sliced)")
        ->check(CLI::Range(int64_t{0}, int64_t{60000}));
    cmd->add_flag("--json", o->json, "machine-readable report");
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] { run_prune(*o); });
}

}  // namespace tern::cli
