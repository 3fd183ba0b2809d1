// GEMM throughput: tern (gemm_f32 / gemm_bf16 / gemm_q8) against oneDNN and
// OpenBLAS at 2048^3 and LLM projection shapes, 1 and 2 threads. Counters:
// GFLOPS (2*M*N*K per second / 1e9; integer ops for u8s8) and peak_frac (share of
// the compute peak measured on this machine at the same thread count: f32 FMA,
// bf16 vdpbf16ps or int8 vpdpbusd, hw/peak.h, probed once per thread count).
//
// Names: <dtype>/<library>/M/N/K/threads:<t>. tern_packed runs with B packed once
// outside the timed loop (the inference path); oneDNN's matmul primitive gets
// the same treatment (weights reordered to its preferred layout beforehand).
// Each library's thread count is set per benchmark: tern's default pool,
// omp_set_num_threads (oneDNN), openblas_set_num_threads.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/thread_pool.h"
#include "hw/peak.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/pack/pack.h"

#ifdef TERN_BENCH_DNNL
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif
#ifdef TERN_BENCH_OPENBLAS
#include <cblas.h>
#endif

namespace {

enum class Peak { f32, bf16, int8 };

// The measured peak (all `threads` threads) of one datatype; the probe runs on
// the default pool, which the tern benchmarks size to `threads` anyway.
double measured_peak(Peak kind, int threads) {
    tern::set_default_threads(threads);
    const tern::ComputePeaks p = tern::measure_compute_peaks(0.1);
    return kind == Peak::f32 ? p.f32_gflops : kind == Peak::bf16 ? p.bf16_gflops : p.int8_gops;
}

struct Shape {
    int64_t m, n, k;
};

std::vector<Shape> shapes() {
    std::vector<Shape> out{{2048, 2048, 2048}};
    const int64_t kn[][2] = {{2048, 2048}, {2048, 5632}, {5632, 2048}, {2048, 32000}};
    for (int64_t m : {1, 16, 128, 512})
        for (const auto& p : kn) out.push_back({m, p[1], p[0]});
    return out;
}

void set_threads(int t) {
    tern::set_default_threads(t);
#ifdef TERN_BENCH_DNNL
    omp_set_num_threads(t);
#endif
#ifdef TERN_BENCH_OPENBLAS
    openblas_set_num_threads(t);
#endif
}

void set_counters(benchmark::State& st, const Shape& s, int threads, Peak kind) {
    const double gflop = 2.0 * s.m * s.n * s.k * 1e-9;
    st.counters["GFLOPS"] = benchmark::Counter(gflop, benchmark::Counter::kIsIterationInvariantRate);
    st.counters["peak_frac"] =
        benchmark::Counter(gflop / measured_peak(kind, threads), benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
std::vector<T> filled(size_t n, T v) {
    return std::vector<T>(n, v);
}
std::vector<float> ramp(size_t n) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(static_cast<int>(i % 97) - 48) / 64.0f;
    return v;
}
std::vector<uint16_t> ramp_bf16(size_t n) {
    auto f = ramp(n);
    std::vector<uint16_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = tern::fp32_to_bf16(f[i]);
    return v;
}
std::vector<int8_t> ramp_s8(size_t n) {
    std::vector<int8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<int8_t>(static_cast<int>(i % 251) - 125);
    return v;
}

// ---- tern ----
void tern_f32(benchmark::State& st, Shape s, int t, const tern::GemmF32Kernel* kernel, bool packed) {
    set_threads(t);
    const auto a = ramp(s.m * s.k), b = ramp(s.k * s.n);
    std::vector<float> c(s.m * s.n);
    const tern::GemmF32Kernel& kn = kernel ? *kernel : tern::gemm_f32_kernel();
    std::unique_ptr<tern::GemmF32PackedB> pb;
    if (packed) pb = std::make_unique<tern::GemmF32PackedB>(kn, b.data(), s.n, false, s.k, s.n);
    tern::GemmF32Args g;
    g.m = s.m, g.n = s.n, g.k = s.k, g.a = a.data(), g.lda = s.k, g.b = b.data(), g.ldb = s.n;
    g.packed_b = pb.get(), g.c = c.data(), g.ldc = s.n;
    for (auto _ : st) {
        tern::gemm_f32(kn, g, tern::default_pool());
        benchmark::ClobberMemory();
    }
    set_counters(st, s, t, Peak::f32);
}

void tern_bf16(benchmark::State& st, Shape s, int t, const tern::GemmBf16Kernel* kernel) {
    set_threads(t);
    const auto a = ramp_bf16(s.m * s.k), b = ramp_bf16(s.k * s.n);
    std::vector<float> c(s.m * s.n);
    const tern::GemmBf16Kernel& kn = kernel ? *kernel : tern::gemm_bf16_kernel();
    tern::GemmBf16PackedB pb(kn, b.data(), s.n, false, s.k, s.n);
    tern::GemmBf16Args g;
    g.m = s.m, g.n = s.n, g.k = s.k, g.a = a.data(), g.lda = s.k, g.packed_b = &pb, g.c = c.data(), g.ldc = s.n;
    for (auto _ : st) {
        tern::gemm_bf16(kn, g, tern::default_pool());
        benchmark::ClobberMemory();
    }
    set_counters(st, s, t, Peak::bf16);
}

void tern_q8(benchmark::State& st, Shape s, int t, const tern::GemmQ8Kernel* kernel) {
    set_threads(t);
    const auto a = filled<uint8_t>(s.m * s.k, 7);
    const auto b = ramp_s8(s.k * s.n);
    std::vector<int32_t> c(s.m * s.n);
    tern::GemmQ8PackedB pb(kernel ? *kernel : tern::gemm_q8_kernel(), b.data(), s.n, false, s.k, s.n);
    tern::GemmQ8Args g;
    g.m = s.m, g.n = s.n, g.k = s.k, g.a = a.data(), g.lda = s.k, g.b = &pb, g.output = tern::Q8Output::s32;
    g.c = c.data(), g.ldc = s.n;
    for (auto _ : st) {
        tern::gemm_q8(g, tern::default_pool());
        benchmark::ClobberMemory();
    }
    set_counters(st, s, t, Peak::int8);
}

#ifdef TERN_BENCH_DNNL
void dnnl_sgemm_bench(benchmark::State& st, Shape s, int t) {
    set_threads(t);
    const auto a = ramp(s.m * s.k), b = ramp(s.k * s.n);
    std::vector<float> c(s.m * s.n);
    for (auto _ : st) {
        dnnl_sgemm('N', 'N', s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, c.data(), s.n);
        benchmark::ClobberMemory();
    }
    set_counters(st, s, t, Peak::f32);
}

// oneDNN matmul primitive, weights reordered once into the layout it prefers.
void dnnl_matmul_bench(benchmark::State& st, Shape s, int t, dnnl::memory::data_type src, dnnl::memory::data_type wei,
                       dnnl::memory::data_type dst, Peak peak) {
    using namespace dnnl;
    set_threads(t);
    engine eng(engine::kind::cpu, 0);
    stream strm(eng);
    const memory::desc a_md({s.m, s.k}, src, memory::format_tag::ab);
    const memory::desc b_plain({s.k, s.n}, wei, memory::format_tag::ab);
    const memory::desc b_any({s.k, s.n}, wei, memory::format_tag::any);
    const memory::desc c_md({s.m, s.n}, dst, memory::format_tag::ab);
    // oneDNN 2.6 has no bf16 matmul on CPUs without AVX-512 (it throws here): the
    // row is skipped with the reason instead of aborting the whole run.
    matmul::primitive_desc pd;
    try {
        pd = matmul::primitive_desc(matmul::desc(a_md, b_any, c_md), eng);
    } catch (const dnnl::error& e) {
        st.SkipWithError((std::string("oneDNN has no matmul for these types on this CPU: ") + e.what()).c_str());
        for (auto _ : st) {
        }
        return;
    }
    memory a_mem(a_md, eng), b_src(b_plain, eng), b_mem(pd.weights_desc(), eng), c_mem(c_md, eng);
    std::memset(a_mem.get_data_handle(), 1, a_md.get_size());
    std::memset(b_src.get_data_handle(), 1, b_plain.get_size());
    reorder(b_src, b_mem).execute(strm, b_src, b_mem);
    const matmul prim(pd);
    for (auto _ : st) {
        prim.execute(strm, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
        strm.wait();
    }
    set_counters(st, s, t, peak);
}
#endif

#ifdef TERN_BENCH_OPENBLAS
void openblas_sgemm_bench(benchmark::State& st, Shape s, int t) {
    set_threads(t);
    const auto a = ramp(s.m * s.k), b = ramp(s.k * s.n);
    std::vector<float> c(s.m * s.n);
    for (auto _ : st) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f,
                    c.data(), s.n);
        benchmark::ClobberMemory();
    }
    set_counters(st, s, t, Peak::f32);
}
#endif

// Packing one (MC = 48 rows, KC = 512 units of 4 bytes) block of A, the shape
// gemm_q8 packs per K block at 2048³: bytes moved per second, per variant.
void pack_bench(benchmark::State& st, const tern::PackKernels* k) {
    constexpr int kRows = 48, kMr = 12;
    constexpr int64_t kUnits = 512, kLd = 2048;
    std::vector<uint8_t> src(static_cast<size_t>(kRows * kLd), 3), out(static_cast<size_t>(kRows * kUnits * 4));
    for (auto _ : st) {
        for (int r0 = 0; r0 < kRows; r0 += kMr) k->rows_u32(src.data() + r0 * kLd, kLd, kMr, kUnits, kMr, out.data() + r0 * kUnits * 4);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    st.counters["GBps"] = benchmark::Counter(static_cast<double>(out.size()) * static_cast<double>(st.iterations()) / 1e9,
                                             benchmark::Counter::kIsRate);
}

std::string name_of(const char* dtype, const std::string& lib, const Shape& s, int t) {
    return std::string(dtype) + "/" + lib + "/" + std::to_string(s.m) + "/" + std::to_string(s.n) + "/" +
           std::to_string(s.k) + "/threads:" + std::to_string(t);
}

void reg(const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMillisecond)->UseRealTime();
}

void register_all() {
    for (int t : {1, 2}) {
        for (const Shape& s : shapes()) {
            reg(name_of("f32", "tern", s, t), [=](benchmark::State& st) { tern_f32(st, s, t, nullptr, false); });
            reg(name_of("f32", "tern_packed", s, t), [=](benchmark::State& st) { tern_f32(st, s, t, nullptr, true); });
#ifdef TERN_BENCH_DNNL
            reg(name_of("f32", "onednn_sgemm", s, t), [=](benchmark::State& st) { dnnl_sgemm_bench(st, s, t); });
#endif
#ifdef TERN_BENCH_OPENBLAS
            reg(name_of("f32", "openblas", s, t), [=](benchmark::State& st) { openblas_sgemm_bench(st, s, t); });
#endif
            reg(name_of("bf16", "tern_packed", s, t), [=](benchmark::State& st) { tern_bf16(st, s, t, nullptr); });
            reg(name_of("u8s8", "tern_packed", s, t), [=](benchmark::State& st) { tern_q8(st, s, t, nullptr); });
#ifdef TERN_BENCH_DNNL
            using dt = dnnl::memory::data_type;
            reg(name_of("bf16", "onednn_matmul", s, t),
                [=](benchmark::State& st) { dnnl_matmul_bench(st, s, t, dt::bf16, dt::bf16, dt::f32, Peak::bf16); });
            reg(name_of("u8s8", "onednn_matmul", s, t),
                [=](benchmark::State& st) { dnnl_matmul_bench(st, s, t, dt::u8, dt::s8, dt::s32, Peak::int8); });
#endif
        }
        // Every variant this CPU supports, at 2048^3 (named by its table row).
        const Shape sq{2048, 2048, 2048};
        for (const auto* k : tern::gemm_f32_variants())
            reg(name_of("variant", k->name, sq, t), [=](benchmark::State& st) { tern_f32(st, sq, t, k, false); });
        for (const auto* k : tern::gemm_bf16_variants())
            reg(name_of("variant", k->name, sq, t), [=](benchmark::State& st) { tern_bf16(st, sq, t, k); });
        for (const auto* k : tern::gemm_q8_variants())
            reg(name_of("variant", k->name, sq, t), [=](benchmark::State& st) { tern_q8(st, sq, t, k); });
    }
    for (const auto* k : tern::pack_variants())
        benchmark::RegisterBenchmark((std::string("pack_a/") + k->name + "/48x512x4").c_str(),
                                     [=](benchmark::State& st) { pack_bench(st, k); })
            ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
