// The bit-serial kernel table and the threaded drivers.
#include "kernels/bitserial/bitserial.h"

#include <algorithm>
#include <array>

#include "core/thread_pool.h"
#include "kernels/kernel_table.h"

namespace tern {

namespace {

const std::array<BitGemmKernel, 3> kBitserialTable = {{
    {"bit_gemm_avx512_vpopcntdq", Isa::avx512, bit_gemm_binary_avx512, bit_gemm_ternary_avx512},
    {"bit_gemm_avx2_pshufb", Isa::avx2, bit_gemm_binary_avx2, bit_gemm_ternary_avx2},
    {"bit_gemm_scalar", Isa::scalar, bit_gemm_binary_scalar, bit_gemm_ternary_scalar},
}};

bool cpu_has_vpopcntdq() {
    static const bool has = __builtin_cpu_supports("avx512vpopcntdq");
    return has;
}

template <bool Ternary>
void run(const BitGemmArgs& g, const BitGemmKernel* kernel) {
    const BitGemmKernel& k = kernel ? *kernel : bit_gemm_kernel();
    const auto fn = Ternary ? k.ternary : k.binary;
    // Rows of C in groups of 4 (the widest row tile), so the tiles stay whole.
    const int64_t groups = (g.m + 3) / 4;
    default_pool().parallel_for(groups, 1, [&](int64_t b0, int64_t b1) { fn(g, 4 * b0, std::min(g.m, 4 * b1)); });
}

}  // namespace

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

void bit_gemm_binary(const BitGemmArgs& args, const BitGemmKernel* kernel) { run<false>(args, kernel); }
void bit_gemm_ternary(const BitGemmArgs& args, const BitGemmKernel* kernel) { run<true>(args, kernel); }

}  // namespace tern
