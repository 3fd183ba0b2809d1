// The read probe behind every roofline fraction (`tern bench --kernels`,
// `tern bench MODEL --roofline`) against a plain reader written here: 8
// independent accumulators of the probe's instruction set over its own 1 GiB
// huge-page buffer, on the same pool threads, fixed halves. Alternating runs,
// medians of 7; the probe must read at >= 0.95 x the plain reader. Timed, so
// it is a long test (a shared machine moves the bandwidth minute to minute).
#include <gtest/gtest.h>
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "hw/bandwidth.h"
#include "kernels/stream/stream.h"

namespace tern {
namespace {

__attribute__((target("avx512f"))) float plain_sum_avx512(const float* p, int64_t n) {
    __m512 a[8];
    for (auto& v : a) v = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 128)
        for (int j = 0; j < 8; ++j) a[j] = _mm512_add_ps(a[j], _mm512_load_ps(p + i + 16 * j));
    for (int j = 1; j < 8; ++j) a[0] = _mm512_add_ps(a[0], a[j]);
    alignas(64) float t[16];
    _mm512_store_ps(t, a[0]);
    float s = 0;
    for (float x : t) s += x;
    return s;
}

__attribute__((target("avx2"))) float plain_sum_avx2(const float* p, int64_t n) {
    __m256 a[8];
    for (auto& v : a) v = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 64)
        for (int j = 0; j < 8; ++j) a[j] = _mm256_add_ps(a[j], _mm256_load_ps(p + i + 8 * j));
    for (int j = 1; j < 8; ++j) a[0] = _mm256_add_ps(a[0], a[j]);
    alignas(32) float t[8];
    _mm256_store_ps(t, a[0]);
    float s = 0;
    for (float x : t) s += x;
    return s;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

TEST(BandwidthLong, ProbeReadsAsFastAsAPlainEightAccumulatorReader) {
    const Isa isa = stream_kernel().isa;
    if (isa != Isa::avx512 && isa != Isa::avx2) GTEST_SKIP() << "the probe runs the scalar reference on this CPU";
    float (*plain)(const float*, int64_t) = isa == Isa::avx512 ? plain_sum_avx512 : plain_sum_avx2;

    constexpr uint64_t bytes = kBandwidthProbeBytes;
    void* mem = nullptr;
    ASSERT_EQ(::posix_memalign(&mem, size_t{2} << 20, bytes), 0);
    ::madvise(mem, bytes, MADV_HUGEPAGE);
    auto* buf = static_cast<float*>(mem);
    const int64_t n = static_cast<int64_t>(bytes / 4);
    for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<float>(i & 7);

    ThreadPool& pool = default_pool();
    volatile float sink = 0;
    auto plain_gbps = [&] {
        std::vector<float> part(static_cast<size_t>(pool.size()));
        const auto t0 = std::chrono::steady_clock::now();
        pool.run([&](int t, int nt) {
            const int64_t blocks = n / 128, b = blocks * t / nt * 128, e = blocks * (t + 1) / nt * 128;
            part[static_cast<size_t>(t)] = plain(buf + b, e - b);
        });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (float p : part) sink = sink + p;
        return static_cast<double>(bytes) / s / 1e9;
    };

    BandwidthProbe probe(bytes);
    const std::string thp = transparent_huge_page_mode();
    std::printf("THP %s; probe buffer %llu of %llu MiB on huge pages; %d threads, %s\n",
                thp.empty() ? "unavailable" : thp.c_str(), static_cast<unsigned long long>(probe.huge_page_bytes() >> 20),
                static_cast<unsigned long long>(bytes >> 20), pool.size(), stream_kernel().name);
    if (thp == "always" || thp == "madvise") {
        EXPECT_GE(probe.huge_page_bytes(), bytes / 2) << "MADV_HUGEPAGE was not honoured for the probe's buffer";
    }

    // Up to three sittings: a probe that is really slower fails all of them,
    // a neighbour's burst during one does not fail the test.
    double p_med = 0, q_med = 0;
    for (int sitting = 0; sitting < 3; ++sitting) {
        plain_gbps();  // warm-up (the probe warms up in measure)
        std::vector<double> p, q;
        for (int i = 0; i < 7; ++i) {
            p.push_back(probe.measure(1).median_gbps);
            q.push_back(plain_gbps());
        }
        p_med = median(p), q_med = median(q);
        std::printf("sitting %d: probe median %.1f GB/s (%.1f-%.1f), plain reader %.1f GB/s (%.1f-%.1f), ratio %.3f\n",
                    sitting, p_med, *std::min_element(p.begin(), p.end()), *std::max_element(p.begin(), p.end()), q_med,
                    *std::min_element(q.begin(), q.end()), *std::max_element(q.begin(), q.end()), p_med / q_med);
        if (p_med >= 0.95 * q_med) break;
    }
    EXPECT_GE(p_med, 0.95 * q_med);
    std::free(mem);
}

}  // namespace
}  // namespace tern
