#pragma once
// The kernel benchmark set behind `tern bench --kernels` and the demo's speed
// table: timing helpers and one function per kernel family.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/json_out.h"

namespace tern::cli {

struct KernelBenchRow {
    std::string kernel;
    std::string isa;
    std::string dtype;
    int64_t m = 0, n = 0, k = 0;
    int threads = 1;
    double gops = 0;           // compute kernels
    double gbps = 0;           // streaming kernels
    double peak_fraction = 0;  // of the measured compute peak or read bandwidth
};

// Total bytes of the weight copies a GEMV row (M = 1) rotates over, so every
// call reads from DRAM: at least 320 MiB (128 MiB with --quick) and twice the
// last-level cache the CPU reports (some VMs report hundreds of MiB of L3;
// bench/RESULTS.md).
uint64_t gemv_rotate_bytes(bool quick);

// Median seconds of `fn` over enough repetitions to fill ~`budget_s`.
double median_seconds(const std::function<void()>& fn, double budget_s = 0.2, int min_reps = 3);

}  // namespace tern::cli
namespace tern {
struct ComputePeaks;
struct BandwidthResult;
}
namespace tern::cli {

// GEMM rows (kernel_bench_gemm.cpp); M = 1 rows are judged against bandwidth_gbps.
void add_gemm_rows(std::vector<KernelBenchRow>& rows, const ComputePeaks& peaks, double bandwidth_gbps, bool quick);

// All families at the current default thread count. When probe is given it
// receives the read-bandwidth probe every GB/s row is a fraction of.
std::vector<KernelBenchRow> run_kernel_benchmarks(bool quick, BandwidthResult* probe = nullptr);

// Decode GEMV of pruned weights against dense f32 / q8_0 / int8 in the same run
// (kernel_bench_sparse.cpp; `tern bench --kernels --sparse`).
struct SparseBenchRow {
    std::string shape;   // "KxN"
    std::string kernel;
    std::string format;  // "dense f32", "csr f32", "csr int8", "2:4 int8", ...
    double sparsity = 0;
    double seconds = 0;  // median per call
    double gbps = 0;     // weight bytes (values, indices, scales) per second
    uint64_t weight_bytes = 0;
    int threads = 1;
    double vs_dense_f32 = 0, vs_dense_q8_0 = 0, vs_dense_int8 = 0;  // speed-ups (dense time / this time)
};
std::vector<SparseBenchRow> run_sparse_benchmarks(bool quick);
// Sparsity where `format` first matches dense f32 (or dense int8), interpolated
// between measured points; -1 when it never does.
double crossover_sparsity(const std::vector<SparseBenchRow>& rows, const std::string& shape, const std::string& format,
                          bool against_int8);
Json kernel_bench_row_json(const KernelBenchRow& r);

}  // namespace tern::cli
