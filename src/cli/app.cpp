#include "cli/app.h"

#include "cli/commands.h"
#include "core/thread_pool.h"
#include "nas/build.h"

namespace tern::cli {

void add_threads_option(CLI::App& cmd, int& threads) {
    cmd.add_option("-t,--threads", threads, "worker threads (default: TERN_THREADS or physical cores)")
        ->check(CLI::Range(1, 1024));
}

void apply_threads(int threads) {
    if (threads > 0) set_default_threads(threads);
}

void build_app(CLI::App& app) {
    nas::register_model_family();  // model files of found architectures (tern.model "nas:...")
    app.require_subcommand(1);
    app.set_version_flag("--version", "tern 0.1.0");
    add_info_command(app);
    add_formats_command(app);
    add_quantize_command(app);
    add_prune_command(app);
    add_search_command(app);
    add_convert_command(app);
    add_generate_command(app);
    add_chat_command(app);
    add_perplexity_command(app);
    add_train_command(app);
    add_eval_command(app);
    add_calibrate_command(app);
    add_run_command(app);
    add_export_command(app);
    add_bench_command(app);
    add_demo_command(app);
    add_tokenize_command(app);
    add_synth_command(app);
    add_cost_command(app);
}

}  // namespace tern::cli
