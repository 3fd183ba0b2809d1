// Sparse rows of `tern bench --kernels --sparse`: decode GEMV (M = 1) of pruned
// weights at the LLM shapes K x N = 2048 x 5632 and 5632 x 2048 against dense
// f32 (gemm_f32), dense q8_0 (quant_matmul, int8 activations) and dense int8
// (gemm_q8 u8s8) in the same run: CSR f32, CSR int8 and bitmap int8 at
// 30..95 % unstructured sparsity, and 2:4 int8. Every case rotates over copies of its
// weights totalling gemv_rotate_bytes, so each call streams them from DRAM.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cli/kernel_bench.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/quant_matmul/quant_matmul.h"
#include "kernels/sparse/sparse.h"

namespace tern::cli {
namespace {

// A deterministic hash in [0, 1): pattern and values independent of the platform's RNG.
double unit_hash(uint64_t i, uint64_t salt) {
    uint64_t z = i * 0x9E3779B97F4A7C15ull + salt;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

float weight_value(uint64_t i) { return static_cast<float>(unit_hash(i, 7) - 0.5) * 0.1f + 1e-3f; }

// (N, K) with a uniformly random `sparsity` of the weights zero.
std::vector<float> unstructured(int64_t n, int64_t k, double sparsity) {
    std::vector<float> w(static_cast<size_t>(n * k));
    for (size_t i = 0; i < w.size(); ++i) w[i] = unit_hash(i, 1) < sparsity ? 0.0f : weight_value(i);
    return w;
}

// Two random columns of every group of 4 kept.
std::vector<float> two_of_four(int64_t n, int64_t k) {
    std::vector<float> w(static_cast<size_t>(n * k), 0.0f);
    for (size_t g = 0; g < w.size() / 4; ++g) {
        const int a = static_cast<int>(unit_hash(g, 3) * 4), b = (a + 1 + static_cast<int>(unit_hash(g, 5) * 3)) % 4;
        w[4 * g + a] = weight_value(4 * g + a);
        w[4 * g + b] = weight_value(4 * g + b);
    }
    return w;
}

// Median seconds of one call, rotating over copies of a weight of `bytes` bytes.
template <class W, class Call>
double time_rotating(const W& first, uint64_t bytes, bool quick, Call&& call) {
    const uint64_t copies = std::max<uint64_t>(1, (gemv_rotate_bytes(quick) + bytes - 1) / bytes);
    std::vector<std::unique_ptr<W>> ws;
    for (uint64_t i = 0; i < copies; ++i) ws.push_back(std::make_unique<W>(first));
    size_t next = 0;
    return median_seconds([&] {
        call(*ws[next]);
        next = (next + 1) % ws.size();
    }, quick ? 0.1 : 0.4, 5);
}

}  // namespace

std::vector<SparseBenchRow> run_sparse_benchmarks(bool quick) {
    ThreadPool& pool = default_pool();
    const SparseKernels& sk = sparse_kernel();
    std::vector<SparseBenchRow> rows;
    const double sparsities[] = {0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
    for (auto [k, n] : {std::pair<int64_t, int64_t>{2048, 5632}, {5632, 2048}}) {
        const std::string shape = std::to_string(k) + "x" + std::to_string(n);
        const uint64_t kn = static_cast<uint64_t>(k * n);
        std::vector<float> x(static_cast<size_t>(k)), y(static_cast<size_t>(n));
        for (int64_t c = 0; c < k; ++c) x[static_cast<size_t>(c)] = static_cast<float>(unit_hash(static_cast<uint64_t>(c), 9) - 0.5);
        std::vector<int8_t> xq(static_cast<size_t>(k));
        float xs = 0;
        quantize_rows_s8(x.data(), 1, k, xq.data(), &xs);
        auto add = [&](std::string kernel, std::string format, double sparsity, double sec, uint64_t bytes) {
            rows.push_back({shape, std::move(kernel), std::move(format), sparsity, sec, static_cast<double>(bytes) / sec / 1e9,
                            bytes, pool.size(), 0, 0, 0});
        };
        double dense_f32 = 0, dense_q8_0 = 0, dense_s8 = 0;
        {
            // Dense baselines on the same values with no zeros.
            const std::vector<float> wd = unstructured(n, k, 0.0);
            const auto& kern = gemm_f32_kernel();
            const GemmF32PackedB packed(kern, wd.data(), k, /*trans_b=*/true, k, n);
            GemmF32Args a;
            a.m = 1, a.n = n, a.k = k, a.a = x.data(), a.lda = k, a.c = y.data(), a.ldc = n;
            std::vector<std::unique_ptr<GemmF32PackedB>> ws;
            const uint64_t copies = std::max<uint64_t>(1, gemv_rotate_bytes(quick) / (kn * 4) + 1);
            for (uint64_t i = 0; i < copies; ++i)
                ws.push_back(std::make_unique<GemmF32PackedB>(kern, wd.data(), k, true, k, n));
            size_t next = 0;
            dense_f32 = median_seconds([&] {
                a.packed_b = ws[next].get();
                gemm_f32(a);
                next = (next + 1) % ws.size();
            }, quick ? 0.1 : 0.4, 5);
            add(kern.name, "dense f32", 0, dense_f32, kn * 4);

            const auto& qk = quant_matmul_kernel();
            QuantScratch scratch;
            const auto src = quantize_source_rows(QuantType::q8_0, 32, wd.data(), n, k);
            std::vector<QuantMatrix> mats;
            mats.push_back(pack_quant_matrix(QuantType::q8_0, src.data(), n, k, 32));
            while (mats.size() * mats[0].source_bytes() < gemv_rotate_bytes(quick)) mats.push_back(clone_quant_matrix(mats[0]));
            next = 0;
            dense_q8_0 = median_seconds([&] {
                quant_matmul(mats[next], x.data(), 1, y.data(), ActMode::int8, scratch, pool, qk);
                next = (next + 1) % mats.size();
            }, quick ? 0.1 : 0.4, 5);
            add(std::string(qk.name) + ":gemv", "dense q8_0", 0, dense_q8_0, mats[0].source_bytes());
            mats.clear();

            const auto& q8 = gemm_q8_kernel();
            std::vector<int8_t> wq(static_cast<size_t>(kn));
            std::vector<float> wscale(static_cast<size_t>(n));
            quantize_rows_s8(wd.data(), n, k, wq.data(), wscale.data());
            std::vector<uint8_t> xu(static_cast<size_t>(k));
            for (int64_t c = 0; c < k; ++c) xu[static_cast<size_t>(c)] = static_cast<uint8_t>(xq[static_cast<size_t>(c)] + 128);
            std::vector<std::unique_ptr<GemmQ8PackedB>> qs;
            for (uint64_t i = 0; i < gemv_rotate_bytes(quick) / kn + 1; ++i)
                qs.push_back(std::make_unique<GemmQ8PackedB>(q8, wq.data(), k, true, k, n));
            GemmQ8Args g;
            g.m = 1, g.n = n, g.k = k, g.a = xu.data(), g.lda = k, g.a_zero_point = 128, g.a_scale = xs;
            g.b_scale = wscale.data(), g.output = Q8Output::dequant_f32, g.c = y.data(), g.ldc = n;
            next = 0;
            dense_s8 = median_seconds([&] {
                g.b = qs[next].get();
                gemm_q8(g, pool);
                next = (next + 1) % qs.size();
            }, quick ? 0.1 : 0.4, 5);
            add(q8.name, "dense int8", 0, dense_s8, kn);
        }
        SparseScratch scratch;
        for (double sp : sparsities) {
            const std::vector<float> w = unstructured(n, k, sp);
            {
                const CsrF32 f = pack_csr_f32(w.data(), n, k);
                const double s = time_rotating(f, f.bytes(), quick, [&](const CsrF32& c) {
                    sparse_matmul(c, x.data(), 1, y.data(), scratch, pool, sk);
                });
                add(std::string(sk.name) + ":csr_f32", "csr f32", sp, s, f.bytes());
            }
            const CsrS8 q = pack_csr_s8(w.data(), n, k);
            const double s = time_rotating(q, q.bytes(), quick, [&](const CsrS8& c) {
                sparse_matmul(c, xq.data(), &xs, 1, y.data(), scratch, pool, sk);
            });
            add(std::string(sk.name) + ":csr_s8", "csr int8", sp, s, q.bytes());
            const BitmapS8 bm = pack_bitmap_s8(w.data(), n, k);
            const double sb = time_rotating(bm, bm.bytes(), quick, [&](const BitmapS8& c) {
                sparse_matmul(c, xq.data(), &xs, 1, y.data(), scratch, pool, sk);
            });
            add(std::string(sk.name) + ":bitmap_s8", "bitmap int8", sp, sb, bm.bytes());
        }
        {
            const std::vector<float> w = two_of_four(n, k);
            const Sparse24S8 s24 = pack_sparse24_s8(w.data(), n, k);
            const double s = time_rotating(s24, s24.bytes(), quick, [&](const Sparse24S8& c) {
                sparse_matmul(c, xq.data(), &xs, 1, y.data(), scratch, pool, sk);
            });
            add(std::string(sk.name) + ":sparse24_s8", "2:4 int8", 0.5, s, s24.bytes());
        }
        for (auto& r : rows)
            if (r.shape == shape) {
                r.vs_dense_f32 = dense_f32 / r.seconds;
                r.vs_dense_q8_0 = dense_q8_0 / r.seconds;
                r.vs_dense_int8 = dense_s8 / r.seconds;
            }
    }
    return rows;
}

double crossover_sparsity(const std::vector<SparseBenchRow>& rows, const std::string& shape, const std::string& format,
                          bool against_int8) {
    const SparseBenchRow* prev = nullptr;
    for (const auto& r : rows) {
        if (r.shape != shape || r.format != format) continue;
        const double ratio = against_int8 ? r.vs_dense_int8 : r.vs_dense_f32;
        if (ratio >= 1.0) {
            if (!prev) return r.sparsity;
            const double pr = against_int8 ? prev->vs_dense_int8 : prev->vs_dense_f32;
            return prev->sparsity + (r.sparsity - prev->sparsity) * (1.0 - pr) / (ratio - pr);
        }
        prev = &r;
    }
    return -1;
}

}  // namespace tern::cli
