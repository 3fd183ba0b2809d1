// gemm_bf16 kernel table, dispatch, argument checks and the threaded driver.
#include "kernels/gemm_bf16/gemm_bf16.h"

#include "kernels/gemm_common/packed_gemm.h"
#include "kernels/kernel_table.h"

#include "core/error.h"
#include "core/half.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace tern {
namespace {

// Blocking: as gemm_f32 but half the bytes per element, so KC doubles for the
// same L1/L2 footprint (KC counts K elements, a multiple of the pair size).
constexpr GemmBf16Kernel kGemmBf16Table[] = {
    {.name = "gemm_bf16_12x32_avx512bf16",
     .isa = Isa::avx512,
     .blocking = {.mr = 12, .nr = 32, .kg = 2, .mc = 48, .kc = 2048, .nc = 4096},
     .micro_kernel = gemm_bf16_ukr_12x32_avx512bf16,
     .short_tiles = {{{.mr = 8, .micro_kernel = gemm_bf16_ukr_8x32_avx512bf16},
                      {.mr = 4, .micro_kernel = gemm_bf16_ukr_4x32_avx512bf16},
                      {.mr = 1, .micro_kernel = gemm_bf16_ukr_1x32_avx512bf16}}}},
    // The 1-row tile: bf16 checkpoints decode through M = 1, where the 4-row tile
    // wasted most of its work (bench/RESULTS_gemm.md).
    {.name = "gemm_bf16_4x16_avx2",
     .isa = Isa::avx2,
     .blocking = {.mr = 4, .nr = 16, .kg = 2, .mc = 128, .kc = 512, .nc = 1024},
     .micro_kernel = gemm_bf16_ukr_4x16_avx2,
     .short_tiles = {{{.mr = 1, .micro_kernel = gemm_bf16_ukr_1x16_avx2}}}},
    {.name = "gemm_bf16_4x8_scalar",
     .isa = Isa::scalar,
     .blocking = {.mr = 4, .nr = 8, .kg = 2, .mc = 64, .kc = 256, .nc = 512},
     .micro_kernel = gemm_bf16_ukr_4x8_scalar},
};

}  // namespace

std::span<const GemmBf16Kernel> gemm_bf16_table() { return kGemmBf16Table; }

std::span<const GemmBf16Kernel* const> gemm_bf16_variants() {
    static const std::vector<const GemmBf16Kernel*> variants = supported_kernels_of<GemmBf16Kernel>(kGemmBf16Table);
    return variants;
}

const GemmBf16Kernel& gemm_bf16_kernel() {
    static const GemmBf16Kernel* chosen = choose_kernel_of<GemmBf16Kernel>(kGemmBf16Table);
    return *chosen;
}

void round_to_bf16(const float* x, int64_t count, uint16_t* dst, ThreadPool& pool) {
    pool.parallel_for(count, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = fp32_to_bf16(x[i]);
    });
}

GemmBf16PackedB::GemmBf16PackedB(const GemmBf16Kernel& kernel, const uint16_t* b, int64_t ldb, bool trans_b, int64_t k,
                               int64_t n)
    : kernel_(&kernel), k_(k), n_(n) {
    if (k < 0 || n < 0 || (k > 0 && n > 0 && (!b || ldb < (trans_b ? k : n))))
        throw InputError("gemm_bf16", "bad B for packing");
    const int64_t elems = gemm::prepacked_b_elements(kernel.blocking, k, n);
    data_ = static_cast<uint16_t*>(aligned_alloc_bytes(static_cast<size_t>(elems) * sizeof(uint16_t), 64));
    if (k > 0 && n > 0) gemm::prepack_b<uint16_t, 2>(kernel.blocking, b, ldb, trans_b, k, n, data_);
}

GemmBf16PackedB::~GemmBf16PackedB() { aligned_free_bytes(data_); }

void gemm_bf16(const GemmBf16Args& args) {
    const GemmBf16Kernel& kernel = args.packed_b ? args.packed_b->kernel() : gemm_bf16_kernel();
    gemm_bf16(kernel, args, default_pool());
}

void gemm_bf16(const GemmBf16Kernel& kernel, const GemmBf16Args& g, ThreadPool& pool) {
    gemm::check_dense_args("gemm_bf16", kernel, g);
    if (g.m == 0 || g.n == 0) return;
    gemm::run_packed<uint16_t, uint16_t, 2>(
        kernel, pool, g.m, g.n, g.k, g.a, g.lda, g.trans_a, g.b, g.ldb, g.trans_b,
        g.packed_b ? g.packed_b->data() : nullptr,
        [&](GemmBf16MicroKernel ukr, int64_t kcp, const uint16_t* ap, const uint16_t* bp, int64_t i, int64_t j,
            int rows, int cols, bool first, bool last) {
            const GemmF32TileEpilogue ep{g.alpha, first ? g.beta : 1.0f, last && g.bias ? g.bias + j : nullptr,
                                         last ? g.act : Activation::none};
            ukr(kcp, ap, bp, g.c + i * g.ldc + j, g.ldc, rows, cols, ep);
        });
}

}  // namespace tern
