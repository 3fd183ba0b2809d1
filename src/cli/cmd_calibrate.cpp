// tern calibrate MODEL --calib text:train --calib-tokens N --calib-ctx C -o STATS.gguf|.safetensors
//                [--stats absmax,meansq,...] [--fpmath] [-t] [--json]
// Runs calibration windows through the model and writes per-Linear input
// statistics (quant/calibration.h), as llama.cpp's imatrix tool does.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/llm_options.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/table.h"
#include "quant/calibration.h"

namespace tern::cli {
namespace {

struct CalibrateCliOptions {
    quant::CalibrateOptions lib;
    std::string stats = "absmax,meansq";
    std::string fpmath = "exact";
    bool json = false;
    int threads = 0;
};

std::string layer_text(const io::RoleOf& r) { return r.layer < 0 ? "-" : std::to_string(r.layer); }

void run_calibrate(CalibrateCliOptions& o) {
    apply_threads(o.threads);
    o.lib.stats = ops::parse_stat_set(o.stats);
    o.lib.load = load_options_for(o.fpmath);
    const bool progress = !o.json && ::isatty(STDERR_FILENO);
    const quant::CalibrateResult r = quant::calibrate_model(o.lib, [&](int64_t w, int64_t n) {
        if (progress) std::fprintf(stderr, "\rwindow %lld/%lld", (long long)(w + 1), (long long)n);
    });
    if (progress) std::fprintf(stderr, "\n");
    if (o.json) {
        Json j{{"model", o.lib.model}, {"output", o.lib.output}, {"calib", o.lib.calib}, {"tokens", r.n_tokens},
               {"ctx", r.ctx}, {"windows", r.n_windows}, {"stats", ops::stat_set_names(o.lib.stats)},
               {"tensors", r.n_tensors}, {"seconds", r.seconds}};
        Json rows = Json::array();
        for (const auto& row : r.rows) {
            Json x{{"name", row.name}, {"layer", row.role.layer}, {"role", io::tensor_role_name(row.role.role)},
                   {"tokens", row.tokens}, {"in_features", row.in_features}};
            if (row.max_absmax_channel >= 0) {
                x["max_absmax"] = row.max_absmax;
                x["max_absmax_channel"] = row.max_absmax_channel;
            }
            if (row.hessian_trace >= 0) x["hessian_trace"] = row.hessian_trace;
            rows.push_back(x);
        }
        j["linears"] = rows;
        print_json(j);
        return;
    }
    TextTable t({"layer", "role", "tokens", "K", "max absmax", "channel", "mean H trace"});
    for (const auto& row : r.rows)
        t.add_row({layer_text(row.role), io::tensor_role_name(row.role.role), std::to_string(row.tokens),
                   std::to_string(row.in_features), row.max_absmax_channel >= 0 ? fmt_fixed(row.max_absmax, 4) : "-",
                   row.max_absmax_channel >= 0 ? std::to_string(row.max_absmax_channel) : "-",
                   row.hessian_trace >= 0 ? fmt_fixed(row.hessian_trace, 4) : "-"});
    t.print();
    std::printf("\n%s: %lld tokens in %lld windows of %lld -> %s (%lld tensors), %.2f s\n", o.lib.model.c_str(),
                (long long)r.n_tokens, (long long)r.n_windows, (long long)r.ctx, o.lib.output.c_str(),
                (long long)r.n_tensors, r.seconds);
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
    auto o = std::make_shared<CalibrateCliOptions>();
    auto* cmd = app.add_subcommand("calibrate", "Collect per-Linear input statistics over calibration text (imatrix, Hessians)");
    cmd->add_option("model", o->lib.model, "language model (.gguf, .safetensors, index json or HF folder)")->required();
    cmd->add_option("--calib", o->lib.calib, "text:train (default), text:validation, text:test or text:FILE");
    cmd->add_option("--calib-tokens", o->lib.n_tokens, "calibration tokens in all windows, BOS included (default 4096)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
    cmd->add_option("--calib-ctx", o->lib.ctx, "tokens per window (default: the model's context, at most 512)")
        ->check(CLI::Range(int64_t{2}, int64_t{1} << 30));
    cmd->add_option("-o,--output", o->lib.output, "statistics file to write (.gguf or .safetensors)")->required();
    cmd->add_option("--stats", o->stats, "comma list of absmax, meanabs, meansq, minmax, hist, hessian (default absmax,meansq)");
    add_fpmath_option(*cmd, o->fpmath);
    cmd->add_flag("--json", o->json, "machine-readable report");
    add_threads_option(*cmd, o->threads);
    cmd->callback([o] { run_calibrate(*o); });
}

}  // namespace tern::cli
