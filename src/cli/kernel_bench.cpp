#include "cli/kernel_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include <unistd.h>

#include "core/cpu_features.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "hw/bandwidth.h"
#include "hw/peak.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/quant_matmul/quant_matmul.h"

namespace tern::cli {

double median_seconds(const std::function<void()>& fn, double budget_s, int min_reps) {
    fn();  // warm-up
    std::vector<double> t;
    const auto start = std::chrono::steady_clock::now();
    while (static_cast<int>(t.size()) < min_reps ||
           (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < budget_s && t.size() < 1000)) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

uint64_t gemv_rotate_bytes(bool quick) {
    if (quick) return uint64_t{128} << 20;  // quick figures may still be inflated by the cache
    const long l3 = ::sysconf(_SC_LEVEL3_CACHE_SIZE);
    return std::max(uint64_t{320} << 20, l3 > 0 ? 2 * static_cast<uint64_t>(l3) : 0);
}

Json kernel_bench_row_json(const KernelBenchRow& r) {
    Json j;
    j["kernel"] = r.kernel;
    j["isa"] = r.isa;
    j["dtype"] = r.dtype;
    j["m"] = r.m;
    j["n"] = r.n;
    j["k"] = r.k;
    j["threads"] = r.threads;
    if (r.gops > 0) j["gops"] = r.gops;
    if (r.gbps > 0) j["gbps"] = r.gbps;
    j["peak_fraction"] = r.peak_fraction;
    return j;
}

namespace {

void add_peak_rows(std::vector<KernelBenchRow>& rows, const ComputePeaks& p, const std::string& isa) {
    rows.push_back({"peak_fma", isa, "f32", 0, 0, 0, p.threads, p.f32_gflops, 0, 1.0});
    if (p.bf16_gflops > 0) rows.push_back({"peak_dpbf16", isa, "bf16", 0, 0, 0, p.threads, p.bf16_gflops, 0, 1.0});
    // AVX-512 VNNI's vpdpbusd, or AVX2's vpmaddubsw + i16 add (hw/peak.h).
    if (p.int8_gops > 0)
        rows.push_back({isa == "avx512" ? "peak_dpbusd" : "peak_maddubs", isa, "u8s8", 0, 0, 0, p.threads, p.int8_gops,
                        0, 1.0});
}

// Row-wise elementwise kernels over a (rows, dim) activation block split across
// threads, sized past the L2 so they stream from memory.
void add_elementwise_rows(std::vector<KernelBenchRow>& rows, double bandwidth_gbps, bool quick) {
    const ElementwiseKernels& k = elementwise_kernel();
    // Each array at least half of gemv_rotate_bytes (64 MiB with --quick), so a
    // row's arrays together pass twice the L3 and stream from memory: at a fixed
    // 64 MiB, f16_to_f32 read at 3.4x the probe on a VM reporting 508 MiB of L3.
    const int64_t dim = 4096;
    const int64_t n_rows = std::max<int64_t>(4096, static_cast<int64_t>(gemv_rotate_bytes(quick) / 2 / (dim * 4)));
    const int64_t n = dim * n_rows;
    std::vector<float> x(static_cast<size_t>(n)), g(static_cast<size_t>(n)), y(static_cast<size_t>(n)),
        w(static_cast<size_t>(dim), 1.0f);
    for (int64_t i = 0; i < n; ++i) {
        x[static_cast<size_t>(i)] = static_cast<float>((i * 7919) % 2001 - 1000) * 1e-3f;
        g[static_cast<size_t>(i)] = static_cast<float>((i * 104729) % 2001 - 1000) * 2e-3f;
    }
    ThreadPool& pool = default_pool();
    auto row_loop = [&](auto&& body) {
        pool.parallel_for(n_rows, 16, [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) body(r * dim);
        });
    };
    struct Case {
        const char* name;
        double bytes;
        std::function<void()> fn;
    };
    const double fb = static_cast<double>(n) * 4;
    std::vector<Case> cases = {
        {"rmsnorm", 2 * fb, [&] { row_loop([&](int64_t o) { k.rmsnorm(x.data() + o, w.data(), y.data() + o, dim, 1e-5f); }); }},
        {"softmax", 2 * fb, [&] { row_loop([&](int64_t o) { k.softmax(y.data() + o, dim, 1.0f); }); }},
        {"silu_mul", 3 * fb, [&] { row_loop([&](int64_t o) { k.silu_mul(g.data() + o, x.data() + o, y.data() + o, dim); }); }},
        // f16 -> f32 (the KV cache's widening): reads the f16 image of x kept in g's storage.
        {"f16_to_f32", 1.5 * fb, [&] {
             row_loop([&](int64_t o) { k.f16_to_f32(reinterpret_cast<const uint16_t*>(g.data()) + o, y.data() + o, dim); });
         }},
    };
    for (const auto& c : cases) {
        const double s = median_seconds(c.fn, quick ? 0.05 : 0.2);
        const double gbps = c.bytes / s / 1e9;
        rows.push_back({std::string(k.name) + ":" + c.name, std::string(isa_name(k.isa)), "f32", n_rows, dim, 0,
                        pool.size(), 0, gbps, bandwidth_gbps > 0 ? gbps / bandwidth_gbps : 0});
    }
}

// Attention in 64-key tiles as ops::Attention runs it (head_dim 64, 8 query
// heads per kv head as in TinyLlama; K and V, 256 KiB each per kv head, stay in L2):
// decode (one query per head, 8 rows per call) and a prefill query block (16
// positions x 8 heads = 128 rows per call, keys up to the block's end). GOP/s
// counts q·k and p·v multiply-adds (4 · head_dim per key and row), against the
// FMA peak. Threads take kv heads.
void add_attention_rows(std::vector<KernelBenchRow>& rows, double f32_gflops, bool quick) {
    const ElementwiseKernels& k = elementwise_kernel();
    ThreadPool& pool = default_pool();
    constexpr int64_t hd = 64, keys = 1024, heads = 8, tile = 64;
    const int64_t kv_heads = pool.size();
    std::vector<float> K(static_cast<size_t>(kv_heads * keys * hd)), V(K.size());
    for (size_t i = 0; i < K.size(); ++i) {
        K[i] = static_cast<float>(static_cast<int64_t>((i * 7919) % 2001) - 1000) * 1e-3f;
        V[i] = static_cast<float>(static_cast<int64_t>((i * 104729) % 2001) - 1000) * 1e-3f;
    }
    for (const int64_t positions : {int64_t{1}, int64_t{16}}) {
        const int64_t n = heads * positions;  // query rows per call
        std::vector<float> q(static_cast<size_t>(n * hd));
        for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>(static_cast<int64_t>(i % 17) - 8) * 0.1f;
        const auto run = [&] {
            pool.parallel_for(kv_heads, 1, [&](int64_t b, int64_t e) {
                std::vector<float> o(static_cast<size_t>(n * hd)), m(static_cast<size_t>(n)), l(m.size());
                std::vector<float> s(static_cast<size_t>(n * (tile + 1)));
                std::vector<int64_t> live(static_cast<size_t>(n));
                for (int64_t kvh = b; kvh < e; ++kvh) {
                    std::fill(o.begin(), o.end(), 0.0f);
                    std::fill(m.begin(), m.end(), -INFINITY);
                    std::fill(l.begin(), l.end(), 0.0f);
                    const float* Kh = K.data() + kvh * keys * hd;
                    const float* Vh = V.data() + kvh * keys * hd;
                    for (int64_t j0 = 0; j0 < keys; j0 += tile) {
                        // Rows are (head, position); the block's positions end at the last key.
                        for (int64_t r = 0; r < n; ++r)
                            live[static_cast<size_t>(r)] = std::min(tile, keys - positions + r % positions + 1 - j0);
                        k.attend_block(q.data(), hd, n, live.data(), Kh + j0 * hd, Vh + j0 * hd, tile, hd, 0.125f,
                                       m.data(), l.data(), o.data(), s.data());
                    }
                }
            });
        };
        const double sec = median_seconds(run, quick ? 0.05 : 0.2);
        const double gops = 4.0 * hd * keys * static_cast<double>(n * kv_heads) / sec / 1e9;
        rows.push_back({std::string(k.name) + (positions == 1 ? ":attend_block_decode" : ":attend_block_prefill"),
                        std::string(isa_name(k.isa)), "f32", n * kv_heads, keys, hd, pool.size(), gops, 0,
                        f32_gflops > 0 ? gops / f32_gflops : 0});
    }
}

// Quantized-weight decode GEMV at K=2048, N=5632 (GB/s of source weight bytes,
// rotating over copies totalling gemv_rotate_bytes so every call streams from DRAM) and
// prefill GEMM at M=512 (64 with --quick; GOP/s vs the int8 peak), int8 activations.
void add_quant_matmul_rows(std::vector<KernelBenchRow>& rows, double bandwidth_gbps, double int8_gops, bool quick) {
    const QuantMatmulKernels& kern = quant_matmul_kernel();
    ThreadPool& pool = default_pool();
    const int64_t k = 2048, n = 5632;
    std::vector<float> w(static_cast<size_t>(64 * k));
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int64_t>((i * 7919) % 2001) - 1000) * 2e-5f;
    struct Case {
        QuantType type;
        int group;
        bool prefill;
    };
    const Case cases[] = {{QuantType::q4_0, 32, true}, {QuantType::q8_0, 32, false}, {QuantType::q4_k, 32, true},
                          {QuantType::int4_asym, 128, false}};
    QuantScratch scratch;
    for (const Case& c : cases) {
        // 64 distinct quantized rows repeated to n rows: speed does not depend on values.
        const auto distinct = quantize_source_rows(c.type, c.group, w.data(), 64, k);
        std::vector<uint8_t> src(distinct.size() * static_cast<size_t>(n / 64));
        for (size_t r = 0; r < static_cast<size_t>(n / 64); ++r)
            std::copy(distinct.begin(), distinct.end(), src.begin() + static_cast<std::ptrdiff_t>(r * distinct.size()));
        std::vector<QuantMatrix> mats;
        mats.push_back(pack_quant_matrix(c.type, src.data(), n, k, c.group));
        const uint64_t rotate = gemv_rotate_bytes(quick);
        while (mats.size() * mats[0].source_bytes() < rotate) mats.push_back(clone_quant_matrix(mats[0]));
        const std::string dtype = std::string(quant_type_name(c.type)) +
                                  (c.type == QuantType::int4_asym ? "_g" + std::to_string(c.group) : "");
        std::vector<float> x(static_cast<size_t>(512 * k)), y(static_cast<size_t>(512 * n));
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int64_t>((i * 104729) % 2001) - 1000) * 1e-3f;
        size_t next = 0;
        const double s = median_seconds([&] {
            quant_matmul(mats[next], x.data(), 1, y.data(), ActMode::int8, scratch, pool, kern);
            next = (next + 1) % mats.size();
        }, quick ? 0.1 : 0.4, 5);
        const double gbps = static_cast<double>(mats[0].source_bytes()) / s / 1e9;
        rows.push_back({std::string(kern.name) + ":gemv", std::string(isa_name(kern.isa)), dtype, 1, n, k, pool.size(),
                        0, gbps, bandwidth_gbps > 0 ? gbps / bandwidth_gbps : 0});
        if (!c.prefill) continue;
        const int64_t m = quick ? 64 : 512;
        const double sg = median_seconds([&] { quant_matmul(mats[0], x.data(), m, y.data(), ActMode::int8, scratch, pool, kern); },
                                         quick ? 0.2 : 0.6, 3);
        const double gops = 2.0 * static_cast<double>(m * n * k) / sg / 1e9;
        rows.push_back({std::string(kern.name) + ":gemm", std::string(isa_name(kern.isa)), dtype, m, n, k, pool.size(), gops,
                        0, int8_gops > 0 ? gops / int8_gops : 0});
    }
}

}  // namespace

std::vector<KernelBenchRow> run_kernel_benchmarks(bool quick, BandwidthResult* probe) {
    std::vector<KernelBenchRow> rows;
    const std::string isa(isa_name(active_isa()));
    const int threads = default_pool().size();
    // Every GB/s row below is a fraction of this probe's median.
    // The full 1 GiB buffer even with --quick: a smaller one partly sits in a large L3.
    const BandwidthResult bw = measure_read_bandwidth(kBandwidthProbeBytes, quick ? 3 : kBandwidthProbeReps);
    if (probe) *probe = bw;
    rows.push_back({"stream_read", isa, "f32", 0, static_cast<int64_t>(bw.bytes / 4), 0, threads, 0, bw.median_gbps, 1.0});
    const ComputePeaks peaks = measure_compute_peaks(quick ? 0.02 : 0.05);
    add_peak_rows(rows, peaks, isa);
    add_elementwise_rows(rows, bw.median_gbps, quick);
    add_attention_rows(rows, peaks.f32_gflops, quick);
    add_gemm_rows(rows, peaks, bw.median_gbps, quick);
    add_quant_matmul_rows(rows, bw.median_gbps, peaks.int8_gops, quick);
    return rows;
}

}  // namespace tern::cli
