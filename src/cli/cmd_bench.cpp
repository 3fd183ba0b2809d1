// tern bench MODEL.onnx [-t 1,2] [--runs N] [--json]: graph latency (cli/graph_bench.h).
// tern bench --kernels [-t 1,2] [--json]: the standard kernel shapes on this
// machine, one row per kernel, shape and thread count, with the fraction of the
// measured peak (compute) or of the measured read bandwidth (streaming).
// tern bench --kernels --sparse [-t 2]: sparse decode GEMVs against dense ones.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/graph_bench.h"
#include "cli/option_ranges.h"
#include "cli/kernel_bench.h"
#include "cli/llm_bench.h"
#include "cli/llm_options.h"
#include "core/error.h"
#include "core/json_out.h"
#include "core/table.h"
#include "core/thread_pool.h"
#include "hw/bandwidth.h"

namespace tern::cli {
namespace {

struct BenchOptions {
    bool kernels = false;
    bool sparse = false;
    LlmBenchOptions llm;
    std::vector<int> threads;
    bool json = false;
    bool quick = false;
    std::string model;
    int runs = 20;      // MODEL.onnx: timed runs
    std::string shape;  // MODEL.onnx: the input's shape when the model leaves dims open
};

void run_onnx_bench(const BenchOptions& o, const std::vector<int>& thread_counts) {
    const auto results = run_graph_bench(o.model, thread_counts, o.runs, o.shape);
    if (o.json) {
        Json arr = Json::array();
        for (const auto& r : results) arr.push_back(graph_bench_json(r));
        print_json(results.size() == 1 ? arr[0] : arr);
        return;
    }
    TextTable table({"model", "threads", "runs", "median ms", "p90 ms", "min ms", "activations"});
    for (const auto& r : results) {
        table.add_row({r.model, std::to_string(r.threads), std::to_string(r.runs), fmt_fixed(r.median_ms, 3),
                       fmt_fixed(r.p90_ms, 3), fmt_fixed(r.min_ms, 3),
                       std::to_string(r.peak_activation_bytes) + " B"});
    }
    table.print();
}

void run_sparse_bench(const BenchOptions& o, const std::vector<int>& thread_counts) {
    std::vector<SparseBenchRow> rows;
    for (int t : thread_counts) {
        set_default_threads(t);
        auto r = run_sparse_benchmarks(o.quick);
        rows.insert(rows.end(), r.begin(), r.end());
    }
    if (o.json) {
        Json arr = Json::array();
        for (const auto& r : rows) {
            Json j;
            j["shape"] = r.shape, j["kernel"] = r.kernel, j["format"] = r.format, j["sparsity"] = r.sparsity;
            j["threads"] = r.threads, j["median_us"] = r.seconds * 1e6, j["gbps"] = r.gbps;
            j["weight_bytes"] = r.weight_bytes, j["vs_dense_f32"] = r.vs_dense_f32;
            j["vs_dense_q8_0"] = r.vs_dense_q8_0, j["vs_dense_int8"] = r.vs_dense_int8;
            arr.push_back(j);
        }
        print_json(arr);
        return;
    }
    TextTable table({"KxN", "format", "sparsity", "threads", "median us", "weight MiB", "GB/s", "vs f32", "vs q8_0",
                     "vs int8", "kernel"});
    for (const auto& r : rows)
        table.add_row({r.shape, r.format, fmt_fixed(100 * r.sparsity, 0) + " %", std::to_string(r.threads),
                       fmt_fixed(r.seconds * 1e6, 1), fmt_fixed(static_cast<double>(r.weight_bytes) / (1 << 20), 1),
                       fmt_fixed(r.gbps, 1), fmt_fixed(r.vs_dense_f32, 2) + "x", fmt_fixed(r.vs_dense_q8_0, 2) + "x",
                       fmt_fixed(r.vs_dense_int8, 2) + "x", r.kernel});
    table.print();
    std::printf("\nM = 1 (decode GEMV), weights rotated over copies totalling %llu MiB; vs X: median time of dense X "
                "over this row's (same shape, same run)\n",
                static_cast<unsigned long long>(gemv_rotate_bytes(o.quick) >> 20));
    for (const auto& shape : {std::string("2048x5632"), std::string("5632x2048")})
        for (int t : thread_counts) {
            std::vector<SparseBenchRow> of_t;
            for (const auto& r : rows)
                if (r.threads == t) of_t.push_back(r);
            const double f = crossover_sparsity(of_t, shape, "csr f32", false);
            const double q = crossover_sparsity(of_t, shape, "csr int8", true);
            const double b = crossover_sparsity(of_t, shape, "bitmap int8", true);
            auto pct = [](double v) { return v < 0 ? std::string("never") : fmt_fixed(100 * v, 0) + " %"; };
            std::printf("crossover %s, %d thread(s): csr f32 beats dense f32 from %s; against dense int8: csr int8 "
                        "from %s, bitmap int8 from %s\n",
                        shape.c_str(), t, pct(f).c_str(), pct(q).c_str(), pct(b).c_str());
        }
}

void run_bench(const BenchOptions& o) {
    if (o.kernels == !o.model.empty()) throw UsageError("bench", "give either MODEL or --kernels");
    if (o.sparse && !o.kernels) throw UsageError("bench", "--sparse goes with --kernels");
    std::vector<int> thread_counts = o.threads;
    if (thread_counts.empty()) thread_counts.push_back(default_thread_count());
    if (!o.kernels && is_onnx_path(o.model)) {
        run_onnx_bench(o, thread_counts);
        return;
    }
    if (!o.kernels) {
        LlmBenchOptions lo = o.llm;
        lo.model = o.model;
        const auto results = run_llm_bench(lo, thread_counts);
        if (o.json) {
            Json arr = Json::array();
            for (const auto& r : results) arr.push_back(llm_bench_json(r));
            print_json(results.size() == 1 ? arr[0] : arr);
            return;
        }
        TextTable table({"model", "threads", "seqs", "test", "tokens/s", "weights GB/s", "roofline", "ttft ms", "peak RSS"});
        for (const auto& r : results) {
            const std::string seqs = std::to_string(r.parallel);
            table.add_row({r.model, std::to_string(r.threads), seqs, "pp" + std::to_string(r.prompt),
                           fmt_fixed(r.prefill_tps, 2), "", "", fmt_fixed(r.ttft_ms, 1),
                           fmt_fixed(r.peak_rss_mb, 0) + " MB"});
            table.add_row({r.model, std::to_string(r.threads), seqs, "tg" + std::to_string(r.gen), fmt_fixed(r.decode_tps, 2),
                           fmt_fixed(r.decode_weight_gbps, 1),
                           r.read_gbps > 0 ? fmt_fixed(100 * r.decode_roofline, 1) + " % of " + fmt_fixed(r.read_gbps, 1)
                                           : "",
                           "", ""});
        }
        table.print();
        if (!results.empty()) {
            std::printf("linears: %s\n", results[0].linear_paths.c_str());
            if (!results[0].sparse24_choice.empty()) std::printf("%s\n", results[0].sparse24_choice.c_str());
        }
        return;
    }
    if (o.sparse) {
        run_sparse_bench(o, thread_counts);
        return;
    }
    std::vector<KernelBenchRow> rows;
    std::vector<BandwidthResult> probes;
    for (int t : thread_counts) {
        set_default_threads(t);
        auto r = run_kernel_benchmarks(o.quick, &probes.emplace_back());
        rows.insert(rows.end(), r.begin(), r.end());
    }
    if (o.json) {
        Json arr = Json::array();
        for (const auto& r : rows) arr.push_back(kernel_bench_row_json(r));
        print_json(arr);
        return;
    }
    TextTable table({"kernel", "isa", "dtype", "m", "n", "k", "threads", "GOP/s", "GB/s", "peak"});
    for (const auto& r : rows) {
        table.add_row({r.kernel, r.isa, r.dtype, std::to_string(r.m), std::to_string(r.n), std::to_string(r.k),
                       std::to_string(r.threads), r.gops > 0 ? fmt_fixed(r.gops, 1) : "",
                       r.gbps > 0 ? fmt_fixed(r.gbps, 1) : "",
                       r.peak_fraction > 0 ? fmt_fixed(100 * r.peak_fraction, 1) + " %" : ""});
    }
    table.print();
    std::printf("\npeak: GOP/s over the measured FMA/BF16/VNNI peak of the same thread count; "
                "GB/s (M = 1 rows: weight bytes) over the measured read bandwidth (stream_read row)\n");
    for (const BandwidthResult& p : probes)
        std::printf("stream_read, %d thread(s): median %.1f, best %.1f GB/s of %zu passes over %llu MiB "
                    "(%llu MiB on huge pages, THP %s)\n",
                    p.threads, p.median_gbps, p.best_gbps, p.runs_gbps.size(),
                    static_cast<unsigned long long>(p.bytes >> 20), static_cast<unsigned long long>(p.huge_page_bytes >> 20),
                    p.thp_mode.empty() ? "unavailable" : p.thp_mode.c_str());
}

}  // namespace

void add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    auto* cmd = app.add_subcommand("bench", "Benchmark an LLM (prefill/decode tokens/s), an ONNX model (latency) or the kernels (--kernels)");
    cmd->add_option("model", o->model, "model file: an LLM (.gguf, ...) or an ONNX graph (.onnx)");
    cmd->add_option("--runs", o->runs, "MODEL.onnx: timed runs per thread count (median and p90 reported)")
        ->check(int_range(1, 100000));
    cmd->add_option("--shape", o->shape, "MODEL.onnx: the input's shape, e.g. 1x3x48x192 (when the model leaves dims open)");
    cmd->add_flag("--kernels", o->kernels, "run the standard kernel shapes");
    cmd->add_flag("--sparse", o->sparse, "with --kernels: sparse (CSR, bitmap, 2:4) decode GEMVs against dense f32, q8_0 and int8");
    cmd->add_option("-t,--threads", o->threads, "thread counts, e.g. -t 1,2")->delimiter(',')->check(int_range(1, 1024));
    cmd->add_flag("--quick", o->quick, "smaller shapes and fewer repetitions");
    cmd->add_option("--prompt", o->llm.prompt, "MODEL: prompt tokens for the prefill test (pp)")->check(int_range(1, kMaxCtx));
    cmd->add_option("--gen", o->llm.gen, "MODEL: decoded tokens for the generation test (tg)")->check(int_range(1, kMaxCtx));
    cmd->add_option("--reps", o->llm.reps, "MODEL: repetitions (median reported)")->check(int_range(1, 1000));
    cmd->add_option("--kv", o->llm.kv, "MODEL: KV cache type f16|f32");
    cmd->add_option("--parallel", o->llm.parallel,
                    "MODEL: sequences decoded together, e.g. --parallel 1,8 (tokens/s summed over them)")
        ->delimiter(',');
    add_fpmath_option(*cmd, o->llm.fpmath);
    cmd->add_flag("--roofline", o->llm.roofline,
                  "MODEL: probe the read bandwidth after each decode run and report decode as a fraction of it");
    cmd->add_flag("--json", o->json, "machine-readable output");
    cmd->callback([o] { run_bench(*o); });
}

}  // namespace tern::cli
