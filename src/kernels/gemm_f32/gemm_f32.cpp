// gemm_f32 kernel table, dispatch, argument checks and the threaded driver.
#include "kernels/gemm_f32/gemm_f32.h"

#include "kernels/gemm_common/packed_gemm.h"
#include "kernels/kernel_table.h"

#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace tern {
namespace {

// Blocking: KC is large (1024) because every K block reads and writes the whole
// C tile once, and with C far outside L2 those passes cost more than anything
// else (bench/RESULTS_gemm.md has the KC sweep). The
// KC x NR B micro-panel (128 KiB) and the MC x KC A block (192 KiB) then stream
// from L2, which the kernel's B prefetch (4 KiB ahead) and the hardware
// prefetchers keep up with; KC x NC of B sits in L3.
constexpr GemmF32Kernel kGemmF32Table[] = {
    {.name = "gemm_f32_12x32_avx512",
     .isa = Isa::avx512,
     .blocking = {.mr = 12, .nr = 32, .kg = 1, .mc = 48, .kc = 1024, .nc = 4096},
     .micro_kernel = gemm_f32_ukr_12x32_avx512,
     .short_tiles = {{{.mr = 8, .micro_kernel = gemm_f32_ukr_8x32_avx512},
                      {.mr = 4, .micro_kernel = gemm_f32_ukr_4x32_avx512},
                      {.mr = 1, .micro_kernel = gemm_f32_ukr_1x32_avx512}}}},
    // Fewer broadcasts per FMA, but no faster than 12x32 (bench/RESULTS_gemm.md); kept for tests.
    {.name = "gemm_f32_6x64_avx512",
     .isa = Isa::avx512,
     .blocking = {.mr = 6, .nr = 64, .kg = 1, .mc = 48, .kc = 768, .nc = 4096},
     .micro_kernel = gemm_f32_ukr_6x64_avx512},
    // AVX2 (Zen 3, 512 KiB L2): KC 512 / MC 192 measured best with the C prefetch
    // (bench/RESULTS_gemm.md).
    // Short tiles as on AVX-512; without them M = 1 ran a 6-row tile (0.48x oneDNN
    // at 1 x 2048 x 2048) and M = 16 padded to 18 rows.
    {.name = "gemm_f32_6x16_avx2",
     .isa = Isa::avx2,
     .blocking = {.mr = 6, .nr = 16, .kg = 1, .mc = 192, .kc = 512, .nc = 1024},
     .micro_kernel = gemm_f32_ukr_6x16_avx2,
     .short_tiles = {{{.mr = 4, .micro_kernel = gemm_f32_ukr_4x16_avx2},
                      {.mr = 1, .micro_kernel = gemm_f32_ukr_1x16_avx2}}}},
    {.name = "gemm_f32_4x8_scalar",
     .isa = Isa::scalar,
     .blocking = {.mr = 4, .nr = 8, .kg = 1, .mc = 64, .kc = 256, .nc = 512},
     .micro_kernel = gemm_f32_ukr_4x8_scalar},
};

}  // namespace

std::span<const GemmF32Kernel> gemm_f32_table() { return kGemmF32Table; }

std::span<const GemmF32Kernel* const> gemm_f32_variants() {
    static const std::vector<const GemmF32Kernel*> variants = supported_kernels_of<GemmF32Kernel>(kGemmF32Table);
    return variants;
}

const GemmF32Kernel& gemm_f32_kernel() {
    static const GemmF32Kernel* chosen = choose_kernel_of<GemmF32Kernel>(kGemmF32Table);
    return *chosen;
}

GemmF32PackedB::GemmF32PackedB(const GemmF32Kernel& kernel, const float* b, int64_t ldb, bool trans_b, int64_t k,
                               int64_t n)
    : kernel_(&kernel), k_(k), n_(n) {
    if (k < 0 || n < 0 || (k > 0 && n > 0 && (!b || ldb < (trans_b ? k : n))))
        throw InputError("gemm_f32", "bad B for packing");
    const int64_t elems = gemm::prepacked_b_elements(kernel.blocking, k, n);
    data_ = static_cast<float*>(aligned_alloc_bytes(static_cast<size_t>(elems) * sizeof(float), 64));
    if (k > 0 && n > 0) gemm::prepack_b<float, 1>(kernel.blocking, b, ldb, trans_b, k, n, data_);
}

GemmF32PackedB::~GemmF32PackedB() { aligned_free_bytes(data_); }

void gemm_f32(const GemmF32Args& args) {
    const GemmF32Kernel& kernel = args.packed_b ? args.packed_b->kernel() : gemm_f32_kernel();
    gemm_f32(kernel, args, default_pool());
}

void gemm_f32(const GemmF32Kernel& kernel, const GemmF32Args& g, ThreadPool& pool) {
    gemm::check_dense_args("gemm_f32", kernel, g);
    if (g.m == 0 || g.n == 0) return;
    gemm::run_packed<float, float, 1>(
        kernel, pool, g.m, g.n, g.k, g.a, g.lda, g.trans_a, g.b, g.ldb, g.trans_b,
        g.packed_b ? g.packed_b->data() : nullptr,
        [&](GemmF32MicroKernel ukr, int64_t kcp, const float* ap, const float* bp, int64_t i, int64_t j, int rows,
            int cols, bool first, bool last) {
            const GemmF32TileEpilogue ep{g.alpha, first ? g.beta : 1.0f, last && g.bias ? g.bias + j : nullptr,
                                         last ? g.act : Activation::none};
            ukr(kcp, ap, bp, g.c + i * g.ldc + j, g.ldc, rows, cols, ep);
        });
}

}  // namespace tern
