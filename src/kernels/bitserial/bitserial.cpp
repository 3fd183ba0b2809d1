// The bit-serial kernel table, B's packing and the threaded drivers.
#include "kernels/bitserial/bitserial.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/kernel_table.h"

namespace tern {

namespace {

// panel and rows must match each kernel's register tile (bitserial_avx512.cpp: 6 rows x 4 panels of 8 columns).
const std::array<BitGemmKernel, 3> kBitserialTable = {{
    {"bit_gemm_avx512_vpopcntdq", Isa::avx512, 8, 6, bit_gemm_binary_avx512, bit_gemm_ternary_avx512},
    {"bit_gemm_avx2_pshufb", Isa::avx2, 1, 2, bit_gemm_binary_avx2, bit_gemm_ternary_avx2},
    {"bit_gemm_scalar", Isa::scalar, 1, 1, bit_gemm_binary_packed_scalar, bit_gemm_ternary_packed_scalar},
}};

bool cpu_has_vpopcntdq() {
    static const bool has = __builtin_cpu_supports("avx512vpopcntdq");
    return has;
}

uint64_t* alloc_plane(int64_t panels, int64_t words, int panel) {
    const size_t bytes = static_cast<size_t>(std::max<int64_t>(panels * words * panel, 1)) * sizeof(uint64_t);
    return static_cast<uint64_t*>(aligned_alloc_bytes(bytes, 64));
}

// (n, words) row-major -> (panels, words, panel), columns past n zero.
void pack_plane(const uint64_t* src, int64_t n, int64_t words, int panel, int64_t panels, uint64_t* dst) {
    for (int64_t p = 0; p < panels; ++p) {
        uint64_t* out = dst + p * words * panel;
        for (int c = 0; c < panel; ++c) {
            const int64_t j = p * panel + c;
            if (j < n) {
                const uint64_t* row = src + j * words;
                for (int64_t w = 0; w < words; ++w) out[w * panel + c] = row[w];
            } else {
                for (int64_t w = 0; w < words; ++w) out[w * panel + c] = 0;
            }
        }
    }
}

// Rows of C in whole register tiles while there are enough of them for every
// thread; otherwise (GEMV-like M) the panels of B, so small M still uses all threads.
void run(const BitGemmArgs& g, const BitPackedB& b) {
    if (g.m <= 0 || g.n <= 0) return;
    const BitGemmKernel& k = b.kernel();
    const BitGemmFn fn = b.ternary() ? k.ternary : k.binary;
    ThreadPool& pool = default_pool();
    const int64_t row_tiles = (g.m + k.rows - 1) / k.rows;
    if (pool.size() == 1 || row_tiles >= 2 * pool.size()) {
        pool.parallel_for(row_tiles, 1, [&](int64_t t0, int64_t t1) {
            fn(g, b, t0 * k.rows, std::min(g.m, t1 * k.rows), 0, b.panels());
        });
    } else {
        // Whole groups of 4 panels (the AVX-512 tile's width) per chunk.
        const int64_t groups = (b.panels() + 3) / 4;
        pool.parallel_for(groups, 1, [&](int64_t q0, int64_t q1) {
            fn(g, b, 0, g.m, 4 * q0, std::min(b.panels(), 4 * q1));
        });
    }
}

const BitGemmKernel& kernel_or_chosen(const BitGemmKernel* kernel) { return kernel ? *kernel : bit_gemm_kernel(); }

}  // namespace

BitPackedB::BitPackedB(const BitGemmKernel& kernel, const uint64_t* b, int64_t n, int64_t k)
    : kernel_(&kernel), n_(n), k_(k), panels_((n + kernel.panel - 1) / kernel.panel) {
    sign_ = alloc_plane(panels_, words(), kernel.panel);
    pack_plane(b, n, words(), kernel.panel, panels_, sign_);
}

BitPackedB::BitPackedB(const BitGemmKernel& kernel, const uint64_t* sign, const uint64_t* mask, const int32_t* nonzero,
                       int64_t n, int64_t k)
    : BitPackedB(kernel, sign, n, k) {
    mask_ = alloc_plane(panels_, words(), kernel.panel);
    pack_plane(mask, n, words(), kernel.panel, panels_, mask_);
    nonzero_.assign(static_cast<size_t>(panels_ * kernel.panel), 0);
    if (n > 0) std::memcpy(nonzero_.data(), nonzero, static_cast<size_t>(n) * sizeof(int32_t));
}

BitPackedB::~BitPackedB() {
    aligned_free_bytes(sign_);
    if (mask_) aligned_free_bytes(mask_);
}

std::span<const BitGemmKernel> bit_gemm_table() { return kBitserialTable; }

bool bit_gemm_kernel_supported(const BitGemmKernel& k) {
    if (!isa_supported(k.isa)) return false;
    return k.isa != Isa::avx512 || cpu_has_vpopcntdq();
}

std::vector<const BitGemmKernel*> bit_gemm_variants() {
    std::vector<const BitGemmKernel*> out;
    for (auto it = kBitserialTable.rbegin(); it != kBitserialTable.rend(); ++it)
        if (bit_gemm_kernel_supported(*it)) out.push_back(&*it);
    return out;
}

const BitGemmKernel& bit_gemm_kernel() {
    static const BitGemmKernel* chosen = [] {
        for (const auto& k : kBitserialTable)
            if (k.isa <= active_isa() && bit_gemm_kernel_supported(k)) return &k;
        return &kBitserialTable.back();
    }();
    return *chosen;
}

void bit_gemm(const BitGemmArgs& args, const BitPackedB& b) { run(args, b); }

void bit_gemm_binary(const BitGemmArgs& args, const BitGemmKernel* kernel) {
    run(args, BitPackedB(kernel_or_chosen(kernel), args.b, args.n, args.k));
}

void bit_gemm_ternary(const BitGemmArgs& args, const BitGemmKernel* kernel) {
    run(args, BitPackedB(kernel_or_chosen(kernel), args.b, args.b_mask, args.b_nonzero, args.n, args.k));
}

}  // namespace tern
