// gemm_q8 kernel table, dispatch, weight packing and the threaded driver.
#include "kernels/gemm_q8/gemm_q8.h"

#include "kernels/gemm_common/packed_gemm.h"
#include "kernels/kernel_table.h"

#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace tern {
namespace {

// K is never split (kc = kAnyK): the requantizing epilogue needs the finished
// dot product, and int8 panels are small enough (12 x 5632 bytes of A) to
// stream from L2. MC x K of A sits in L2; each K x NR weight panel is reused
// for MC/MR micro-tiles.
constexpr int kAnyK = 1 << 30;

constexpr GemmQ8Kernel kGemmQ8Table[] = {
    {.name = "gemm_q8_u8s8_12x32_avx512vnni",
     .isa = Isa::avx512,
     .blocking = {.mr = 12, .nr = 32, .kg = 4, .mc = 48, .kc = kAnyK, .nc = 4096},
     .micro_kernel = gemm_q8_ukr_12x32_avx512vnni,
     .short_tiles = {{{.mr = 8, .micro_kernel = gemm_q8_ukr_8x32_avx512vnni},
                      {.mr = 4, .micro_kernel = gemm_q8_ukr_4x32_avx512vnni},
                      {.mr = 1, .micro_kernel = gemm_q8_ukr_1x32_avx512vnni}}}},
    {.name = "gemm_q8_u8s8_6x8_avx2",
     .isa = Isa::avx2,
     .blocking = {.mr = 6, .nr = 8, .kg = 4, .mc = 96, .kc = kAnyK, .nc = 512},
     .micro_kernel = gemm_q8_ukr_6x8_avx2},
    {.name = "gemm_q8_u8s8_4x8_scalar",
     .isa = Isa::scalar,
     .blocking = {.mr = 4, .nr = 8, .kg = 4, .mc = 64, .kc = kAnyK, .nc = 512},
     .micro_kernel = gemm_q8_ukr_4x8_scalar},
};

size_t output_bytes(Q8Output mode) { return mode == Q8Output::requant_s8 ? 1 : 4; }

void check_args(const GemmQ8Args& g) {
    const char* where = "gemm_q8";
    if (g.m < 0 || g.n < 0 || g.k < 0) throw InputError(where, "negative shape");
    if (!g.b) throw InputError(where, "weights must be packed (GemmQ8PackedB)");
    if (g.b->k() != g.k || g.b->n() != g.n) throw InputError(where, "packed B shape does not match K x N");
    if (g.m == 0 || g.n == 0) return;
    if (!g.c || g.ldc < g.n) throw InputError(where, "C needs ldc >= N");
    if (g.k > 0 && (!g.a || g.lda < g.k)) throw InputError(where, "A needs lda >= K");
    if (g.a_zero_point < 0 || g.a_zero_point > 255) throw InputError(where, format("a_zero_point %d outside 0..255", g.a_zero_point));
    if (g.output != Q8Output::s32 && !g.b_scale) throw InputError(where, "b_scale (N) is required to requantize or dequantize");
    if (g.output == Q8Output::requant_s8 &&
        (g.qmin < -128 || g.qmax > 127 || g.qmin > g.qmax || !(g.out_scale > 0.0f)))
        throw InputError(where, format("bad requantization: qmin %d qmax %d out_scale %g", g.qmin, g.qmax, g.out_scale));
    if (g.k > kAnyK) throw InputError(where, "K too large");
}

}  // namespace

std::span<const GemmQ8Kernel> gemm_q8_table() { return kGemmQ8Table; }

std::span<const GemmQ8Kernel* const> gemm_q8_variants() {
    static const std::vector<const GemmQ8Kernel*> variants = supported_kernels_of<GemmQ8Kernel>(kGemmQ8Table);
    return variants;
}

const GemmQ8Kernel& gemm_q8_kernel() {
    static const GemmQ8Kernel* chosen = choose_kernel_of<GemmQ8Kernel>(kGemmQ8Table);
    return *chosen;
}

GemmQ8PackedB::GemmQ8PackedB(const GemmQ8Kernel& kernel, const int8_t* b, int64_t ldb, bool trans_b, int64_t k,
                             int64_t n)
    : kernel_(&kernel), k_(k), n_(n) {
    if (k < 0 || n < 0 || (k > 0 && n > 0 && (!b || ldb < (trans_b ? k : n))))
        throw InputError("gemm_q8", "bad B for packing");
    const int64_t elems = gemm::prepacked_b_elements(kernel.blocking, k, n);
    data_ = static_cast<int8_t*>(aligned_alloc_bytes(static_cast<size_t>(elems), 64));
    if (k > 0 && n > 0) gemm::prepack_b<int8_t, 4>(kernel.blocking, b, ldb, trans_b, k, n, data_);
    col_sums_.assign(static_cast<size_t>(n), 0);
    for (int64_t j = 0; j < n; ++j) {
        int32_t s = 0;
        for (int64_t p = 0; p < k; ++p) s += trans_b ? b[j * ldb + p] : b[p * ldb + j];
        col_sums_[static_cast<size_t>(j)] = s;
    }
}

GemmQ8PackedB::~GemmQ8PackedB() { aligned_free_bytes(data_); }

void gemm_q8(const GemmQ8Args& args) { gemm_q8(args, default_pool()); }

void gemm_q8(const GemmQ8Args& g, ThreadPool& pool) {
    check_args(g);
    if (g.m == 0 || g.n == 0) return;
    const size_t elem = output_bytes(g.output);
    auto* c = static_cast<uint8_t*>(g.c);
    // K is not blocked, so every tile is its first and last K block.
    gemm::run_packed<uint8_t, int8_t, 4>(
        g.b->kernel(), pool, g.m, g.n, g.k, g.a, g.lda, false, nullptr, 0, false, g.b->data(),
        [&](GemmQ8MicroKernel ukr, int64_t kcp, const uint8_t* ap, const int8_t* bp, int64_t i, int64_t j, int rows,
            int cols, bool, bool) {
            const GemmQ8TileEpilogue ep{g.output,
                                        g.a_zero_point,
                                        g.a_scale,
                                        g.b->col_sums() + j,
                                        g.b_scale ? g.b_scale + j : nullptr,
                                        g.bias_s32 ? g.bias_s32 + j : nullptr,
                                        g.bias_f32 ? g.bias_f32 + j : nullptr,
                                        g.out_scale,
                                        g.out_zero_point,
                                        g.qmin,
                                        g.qmax};
            ukr(kcp, ap, bp, c + (i * g.ldc + j) * elem, g.ldc, rows, cols, ep);
        });
}

}  // namespace tern
