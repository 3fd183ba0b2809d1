// The `tern` program: git-style subcommands over the library. Exit codes:
// 0 success, 1 bad input (one line naming the file and the problem), 2 bad usage.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace tern::cli {

void add_threads_option(CLI::App& cmd, int& threads) {
    cmd.add_option("-t,--threads", threads, "worker threads (default: TERN_THREADS or physical cores)")
        ->check(CLI::Range(1, 1024));
}

void apply_threads(int threads) {
    if (threads > 0) set_default_threads(threads);
}

// cmd_convert.cpp (declared here, not in commands.h, to keep this change from
// recompiling every command; belongs beside add_quantize_command there).
void add_convert_command(CLI::App& app);

}  // namespace tern::cli

int main(int argc, char** argv) {
    CLI::App app{"tern: compress, search and run neural networks efficiently on CPUs and microcontrollers"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "tern 0.1.0");
    tern::cli::add_info_command(app);
    tern::cli::add_formats_command(app);
    tern::cli::add_quantize_command(app);
    tern::cli::add_convert_command(app);
    tern::cli::add_generate_command(app);
    tern::cli::add_chat_command(app);
    tern::cli::add_perplexity_command(app);
    tern::cli::add_train_command(app);
    tern::cli::add_eval_command(app);
    tern::cli::add_bench_command(app);
    tern::cli::add_demo_command(app);
    tern::cli::add_tokenize_command(app);
    tern::cli::add_synth_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "tern: %s (see tern --help)\n", e.what());
        return 2;
    } catch (const tern::UsageError& e) {
        std::fprintf(stderr, "tern: %s\n", e.what());
        return 2;
    } catch (const tern::Error& e) {
        std::fprintf(stderr, "tern: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "tern: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tern: internal error: %s\n", e.what());
        return 1;
    }
    return 0;
}
