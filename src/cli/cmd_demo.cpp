// tern demo: an always-working tour of what tern does, on embedded defaults,
// ending in one table. It grows with each capability.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/kernel_bench.h"
#include "core/cpu_features.h"
#include "core/table.h"
#include "core/thread_pool.h"
#include "formats/format.h"
#include "formats/format_error.h"

namespace tern::cli {
namespace {

struct DemoRow {
    std::string step;
    std::string result;
    double seconds;
};

template <class F>
DemoRow timed(const std::string& step, F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string result = f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return {step, result, s};
}

void run_demo(int threads) {
    apply_threads(threads);
    std::vector<DemoRow> rows;
    std::printf("tern demo: the toolkit's pipeline on its embedded defaults\n\n");

    rows.push_back(timed("cpu", [] {
        const auto& f = cpu_features();
        return f.brand + ", kernels: " + std::string(isa_name(active_isa())) + ", threads " +
               std::to_string(default_pool().size());
    }));

    rows.push_back(timed("number formats", [] {
        const auto x = synthetic_data("gaussian", 1 << 16, 7);
        std::string best;
        int count = 0;
        for (const auto& f : all_formats()) {
            ++count;
            const auto e = measure_format_error(f, x);
            if (f.bits_per_weight() <= 4.6 && (best.empty() || e.sqnr_db > std::stod(best.substr(best.rfind(' ') + 1)))) {
                best = std::string(f.name) + " at " + fmt_fixed(f.bits_per_weight(), 2) + " bits, SQNR dB " +
                       fmt_fixed(e.sqnr_db, 2);
            }
        }
        return std::to_string(count) + " formats; best <= 4.6 bits: " + (best.empty() ? "n/a" : best);
    }));

    rows.push_back(timed("kernel speed", [] {
        std::string out;
        for (const auto& r : run_kernel_benchmarks(/*quick=*/true)) {
            if (r.kernel == "stream_read") out += "read " + fmt_fixed(r.gbps, 1) + " GB/s; ";
            if (r.kernel == "peak_fma") out += "fp32 FMA peak " + fmt_fixed(r.gops, 0) + " GFLOP/s; ";
            if (r.kernel == "peak_dpbusd") out += "int8 VNNI peak " + fmt_fixed(r.gops, 0) + " GOP/s; ";
            if (r.kernel.find("rmsnorm") != std::string::npos)
                out += "rmsnorm " + fmt_fixed(100 * r.peak_fraction, 0) + "% of bandwidth";
        }
        return out;
    }));

    TextTable table({"step", "result", "seconds"});
    for (const auto& r : rows) table.add_row({r.step, r.result, fmt_fixed(r.seconds, 3)});
    table.print();
}

}  // namespace

void add_demo_command(CLI::App& app) {
    auto threads = std::make_shared<int>(0);
    auto* cmd = app.add_subcommand("demo", "The whole pipeline on the embedded default models");
    add_threads_option(*cmd, *threads);
    cmd->callback([threads] { run_demo(*threads); });
}

}  // namespace tern::cli
