// Quantized matmul speed: decode GEMV (GB/s of source weight bytes, vs the
// measured read bandwidth), prefill GEMM at M = 512 (GOP/s vs the measured
// int8 peak: vpdpbusd with VNNI, vpmaddubsw + i16 add on AVX2), and llama.cpp's
// own vec_dot on identical blocks.
// GEMV rotates over copies of the weights totalling > 256 MB so every call
// streams from DRAM. Counters: GBps, roofline (= GBps / read bandwidth at the
// same thread count, probed right after the benchmark's own timing loop), GOPs,
// peak (= GOPs / int8 peak).
// gemv_l2 runs the decode kernel (kern.matmul_q8, M = 1) on one 64-row matrix
// that stays in L2, one thread: its own ceiling in GB/s of source bytes, to set
// beside the DRAM stream one decode thread draws (over_dram_1t = that ratio).
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../tests/ref/ggml_ref.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "formats/gguf_blocks.h"
#include "kernels/quant_matmul/int4_asym.h"
#include "kernels/quant_matmul/quant_matmul.h"

#include "bench_roofs.h"

namespace {

using namespace tern;

constexpr uint64_t kRotateBytes = uint64_t{320} << 20;

using benchutil::Roofs;
using benchutil::roofs;
using benchutil::report_stream;

// Source blocks for `rows` rows: 64 distinct quantized rows repeated.
std::vector<uint8_t> source_blocks(QuantType t, int group, int64_t rows, int64_t k) {
    const int be = quant_block_elems(t, group), bb = quant_block_bytes(t, group);
    const int64_t row_bytes = k / be * bb, distinct = std::min<int64_t>(rows, 64);
    std::mt19937_64 rng(42);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    std::vector<uint8_t> out(static_cast<size_t>(rows * row_bytes));
    std::vector<float> xs(static_cast<size_t>(distinct * k));
    for (auto& v : xs) v = nd(rng);
    auto q = quantize_source_rows(t, group, xs.data(), distinct, k);
    std::memcpy(out.data(), q.data(), q.size());
    for (int64_t r = distinct; r < rows; ++r)
        std::memcpy(out.data() + r * row_bytes, out.data() + (r % distinct) * row_bytes, static_cast<size_t>(row_bytes));
    return out;
}

// One weight set: copies of the packed matrix (and of the source blocks for
// llama.cpp) totalling > kRotateBytes, so consecutive calls never hit cache.
struct WeightSet {
    std::vector<QuantMatrix> packed;
    std::vector<std::vector<uint8_t>> source;
};

WeightSet& weight_set(QuantType t, int group, int64_t n, int64_t k, bool rotate) {
    static std::string key;
    static WeightSet ws;
    const std::string want = std::to_string(int(t)) + "/" + std::to_string(group) + "/" + std::to_string(n) + "/" +
                             std::to_string(k) + (rotate ? "r" : "");
    if (key == want) return ws;
    ws = WeightSet{};
    key = want;
    auto src = source_blocks(t, group, n, k);
    QuantMatrix first = pack_quant_matrix(t, src.data(), n, k, group);
    const int copies = rotate ? static_cast<int>(kRotateBytes / first.source_bytes() + 1) : 1;
    for (int c = 1; c < copies; ++c) {
        ws.packed.push_back(clone_quant_matrix(first));
        ws.source.push_back(src);
    }
    ws.packed.push_back(std::move(first));
    ws.source.push_back(std::move(src));
    return ws;
}

std::string type_label(QuantType t, int group) {
    return std::string(quant_type_name(t)) + (t == QuantType::int4_asym ? "_g" + std::to_string(group) : "");
}

void gemv(benchmark::State& st, QuantType t, int group, int64_t k, int64_t n, int threads) {
    roofs();  // the start-up probes run once, before any timing
    WeightSet& ws = weight_set(t, group, n, k, true);
    ThreadPool pool(threads);
    QuantScratch scratch;
    std::vector<float> x(static_cast<size_t>(k), 0.5f), y(static_cast<size_t>(n));
    size_t i = 0;
    for (auto _ : st) {
        quant_matmul(ws.packed[i], x.data(), 1, y.data(), ActMode::int8, scratch, pool);
        benchmark::DoNotOptimize(y.data());
        i = (i + 1) % ws.packed.size();
    }
    const double gb = static_cast<double>(ws.packed[0].source_bytes()) / 1e9 * static_cast<double>(st.iterations());
    report_stream(st, gb, threads);
    st.counters["packed_over_src"] =
        static_cast<double>(ws.packed[0].packed_bytes()) / static_cast<double>(ws.packed[0].source_bytes());
}

void gemv_l2(benchmark::State& st, QuantType t, int group, int64_t k, int64_t n) {
    WeightSet& ws = weight_set(t, group, n, k, false);
    const QuantMatrix& w = ws.packed[0];
    const QuantMatmulKernels& kern = quant_matmul_kernel();
    // Activations quantized once: only the kernel's loop is timed (a 64-row call
    // takes a few microseconds, where quantize_acts and the driver would show).
    QuantScratch scratch;
    std::vector<float> x(static_cast<size_t>(k), 0.5f), y(static_cast<size_t>(n));
    QuantActs a = scratch.acts(1, k, is_k_quant(t) ? 256 : 32);
    kern.quantize_acts(x.data(), a);
    for (auto _ : st) {
        kern.matmul_q8(w, a, y.data(), 0, w.tiles);
        benchmark::DoNotOptimize(y.data());
    }
    const double gb = static_cast<double>(w.source_bytes()) / 1e9 * static_cast<double>(st.iterations());
    st.counters["GBps"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
    st.counters["over_dram_1t"] = benchmark::Counter(gb / roofs().bw[1], benchmark::Counter::kIsRate);
}

void gemm(benchmark::State& st, QuantType t, int group, int64_t k, int64_t n, int64_t m, int threads) {
    const Roofs& rf = roofs();
    WeightSet& ws = weight_set(t, group, n, k, false);
    ThreadPool pool(threads);
    QuantScratch scratch;
    std::vector<float> x(static_cast<size_t>(m * k)), y(static_cast<size_t>(m * n));
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    for (auto& v : x) v = nd(rng);
    for (auto _ : st) {
        quant_matmul(ws.packed[0], x.data(), m, y.data(), ActMode::int8, scratch, pool);
        benchmark::DoNotOptimize(y.data());
    }
    const double gop = 2.0 * static_cast<double>(m * n * k) / 1e9 * static_cast<double>(st.iterations());
    st.counters["GOPs"] = benchmark::Counter(gop, benchmark::Counter::kIsRate);
    st.counters["peak"] = benchmark::Counter(gop / rf.peaks[threads].int8_gops, benchmark::Counter::kIsRate);
    st.counters["int8_peak_GOPs"] = rf.peaks[threads].int8_gops;
}

// ---- llama.cpp's vec_dot on the same source blocks (libggml-cpu-zen4.so)

using VecDot = void (*)(int, float*, size_t, const void*, size_t, const void*, size_t, int);
using QuantizeRow = void (*)(const float*, void*, int64_t);

void* ggml_cpu_handle() {
    static void* h = [] () -> void* {
        if (!testref::ggml_base_handle()) return nullptr;
        const std::string base = testref::ggml_base_path();
        const std::string dir = base.substr(0, base.rfind('/') + 1);
        void* handle = dlopen((dir + (cpu_features().avx512bf16 ? "libggml-cpu-zen4.so" : "libggml-cpu-haswell.so")).c_str(),
                              RTLD_NOW | RTLD_LOCAL);
        if (handle)
            if (auto init = reinterpret_cast<void (*)()>(dlsym(handle, "ggml_cpu_init"))) init();
        return handle;
    }();
    return h;
}

struct GgmlNames {
    const char* vec_dot;
    const char* quant;
    int act_bytes_per_block;
    int act_block;
};
GgmlNames ggml_names(QuantType t) {
    switch (t) {
        case QuantType::q4_0: return {"ggml_vec_dot_q4_0_q8_0", "quantize_row_q8_0", 34, 32};
        case QuantType::q8_0: return {"ggml_vec_dot_q8_0_q8_0", "quantize_row_q8_0", 34, 32};
        case QuantType::q4_k: return {"ggml_vec_dot_q4_K_q8_K", "quantize_row_q8_K", 292, 256};
        case QuantType::q6_k: return {"ggml_vec_dot_q6_K_q8_K", "quantize_row_q8_K", 292, 256};
        default: return {nullptr, nullptr, 0, 0};
    }
}

// M rows × N columns through vec_dot (M = 1: decode GEMV; llama.cpp's generic
// mul_mat path does the same per (row, column) pair).
void llama_vec_dot(benchmark::State& st, QuantType t, int64_t k, int64_t n, int64_t m, int threads) {
    void* h = ggml_cpu_handle();
    const GgmlNames g = ggml_names(t);
    if (!h || !g.vec_dot) {
        st.SkipWithError("llama.cpp libggml-cpu not found (run scripts/setup.sh)");
        return;
    }
    auto vec_dot = reinterpret_cast<VecDot>(dlsym(h, g.vec_dot));
    auto quant = reinterpret_cast<QuantizeRow>(dlsym(h, g.quant));
    const Roofs& rf = roofs();
    WeightSet& ws = weight_set(t, 32, n, k, m == 1);
    const int64_t row_bytes = k / quant_block_elems(t, 32) * quant_block_bytes(t, 32);
    const int64_t act_row = k / g.act_block * g.act_bytes_per_block;
    std::vector<float> x(static_cast<size_t>(m * k), 0.5f), y(static_cast<size_t>(m * n));
    std::vector<uint8_t> act(static_cast<size_t>(m * act_row));
    ThreadPool pool(threads);
    size_t i = 0;
    for (auto _ : st) {
        for (int64_t r = 0; r < m; ++r) quant(x.data() + r * k, act.data() + r * act_row, k);
        const uint8_t* w = ws.source[i].data();
        pool.parallel_for(n, 16, [&](int64_t j0, int64_t j1) {
            for (int64_t r = 0; r < m; ++r)
                for (int64_t j = j0; j < j1; ++j)
                    vec_dot(static_cast<int>(k), &y[static_cast<size_t>(r * n + j)], 0, w + j * row_bytes, 0,
                            act.data() + r * act_row, 0, 1);
        });
        benchmark::DoNotOptimize(y.data());
        i = (i + 1) % ws.source.size();
    }
    const double gb = static_cast<double>(n * row_bytes) / 1e9 * static_cast<double>(st.iterations());
    if (m == 1)
        report_stream(st, gb, threads);
    else
        st.counters["GBps"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
    const double gop = 2.0 * static_cast<double>(m * n * k) / 1e9 * static_cast<double>(st.iterations());
    st.counters["GOPs"] = benchmark::Counter(gop, benchmark::Counter::kIsRate);
    st.counters["peak"] = benchmark::Counter(gop / rf.peaks[threads].int8_gops, benchmark::Counter::kIsRate);
}

struct Shape {
    int64_t k, n;
};

void register_all() {
    const Shape shapes[] = {{2048, 2048}, {2048, 5632}, {5632, 2048}, {2048, 32000}};
    struct TC {
        QuantType t;
        int group;
        bool all_shapes;  // the decode targets get every shape
    };
    const TC types[] = {{QuantType::q4_0, 32, true},  {QuantType::q8_0, 32, true},  {QuantType::q4_k, 32, true},
                        {QuantType::int4_asym, 128, true}, {QuantType::q4_1, 32, false}, {QuantType::q5_0, 32, false},
                        {QuantType::q5_1, 32, false}, {QuantType::q2_k, 32, false}, {QuantType::q3_k, 32, false},
                        {QuantType::q5_k, 32, false}, {QuantType::q6_k, 32, false}, {QuantType::int4_asym, 32, false},
                        {QuantType::int4_asym, 64, false}};
    for (const TC& c : types)
        for (const Shape& s : shapes) {
            if (!c.all_shapes && s.n != 5632) continue;
            for (int th : {1, 2}) {
                const std::string name = "gemv/" + type_label(c.t, c.group) + "/k" + std::to_string(s.k) + "_n" +
                                         std::to_string(s.n) + "/t" + std::to_string(th);
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) { gemv(st, c.t, c.group, s.k, s.n, th); })
                    ->UseRealTime()->MinTime(0.3);
                if (ggml_names(c.t).vec_dot && (c.all_shapes || s.n == 5632))
                    benchmark::RegisterBenchmark(("llama_vec_dot_gemv/" + type_label(c.t, 32) + "/k" + std::to_string(s.k) +
                                                  "_n" + std::to_string(s.n) + "/t" + std::to_string(th)).c_str(),
                                                 [=](benchmark::State& st) { llama_vec_dot(st, c.t, s.k, s.n, 1, th); })
                        ->UseRealTime()->MinTime(0.3);
            }
        }
    for (const TC& c : types)
        benchmark::RegisterBenchmark(("gemv_l2/" + type_label(c.t, c.group) + "/k2048_n64/t1").c_str(),
                                     [=](benchmark::State& st) { gemv_l2(st, c.t, c.group, 2048, 64); })
            ->UseRealTime()->MinTime(0.2);
    for (const TC& c : types)
        for (int th : {1, 2}) {
            benchmark::RegisterBenchmark(("gemm/" + type_label(c.t, c.group) + "/m512_k2048_n5632/t" + std::to_string(th)).c_str(),
                                         [=](benchmark::State& st) { gemm(st, c.t, c.group, 2048, 5632, 512, th); })
                ->UseRealTime()->MinTime(0.5);
            if (ggml_names(c.t).vec_dot && c.t != QuantType::q6_k)
                benchmark::RegisterBenchmark(("llama_vec_dot_gemm/" + type_label(c.t, 32) + "/m512_k2048_n5632/t" + std::to_string(th)).c_str(),
                                             [=](benchmark::State& st) { llama_vec_dot(st, c.t, 2048, 5632, 512, th); })
                    ->UseRealTime()->MinTime(0.5);
        }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    const Roofs& r = roofs();
    std::printf("read bandwidth: %.1f GB/s (1 thread), %.1f GB/s (2 threads); int8 peak (vpdpbusd or vpmaddubsw): %.0f GOP/s (1), %.0f GOP/s (2)\n",
                r.bw[1], r.bw[2], r.peaks[1].int8_gops, r.peaks[2].int8_gops);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
