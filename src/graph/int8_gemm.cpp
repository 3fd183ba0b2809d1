#include "graph/int8_gemm.h"

#include <vector>

#include "kernels/gemm_q8/gemm_q8.h"

namespace tern::graph {

namespace {

int32_t code(const Int8Operand& o, int64_t i) {
    return o.is_signed ? static_cast<const int8_t*>(o.data)[i] : static_cast<const uint8_t*>(o.data)[i];
}

}  // namespace

void int8_gemm_reference(const Int8GemmArgs& g) {
    for (int64_t i = 0; i < g.m; ++i) {
        const int32_t azp = g.a_zp[g.a_zp_count == 1 ? 0 : i];
        for (int64_t j = 0; j < g.n; ++j) {
            const int32_t bzp = g.b_zp[g.b_zp_count == 1 ? 0 : j];
            int64_t acc = 0;
            for (int64_t k = 0; k < g.k; ++k) {
                const int32_t bv = code(g.b, g.b_nk ? j * g.k + k : k * g.n + j);
                acc += static_cast<int64_t>(code(g.a, i * g.k + k) - azp) * (bv - bzp);
            }
            g.c[i * g.n + j] = static_cast<int32_t>(acc);  // modulo 2^32, as the int32 vector units wrap
        }
    }
}

void int8_gemm(const Int8GemmArgs& g) {
    if (g.m == 0 || g.n == 0) return;
    if (g.a_zp_count != 1 || g.k == 0) return int8_gemm_reference(g);
    // A as u8 with its zero point: int8 codes shift by 128 (a - zp is unchanged).
    int32_t a_zp = g.a_zp[0];
    const uint8_t* a = static_cast<const uint8_t*>(g.a.data);
    std::vector<uint8_t> a_shifted;
    if (g.a.is_signed) {
        a_shifted.resize(static_cast<size_t>(g.m * g.k));
        const int8_t* src = static_cast<const int8_t*>(g.a.data);
        for (size_t i = 0; i < a_shifted.size(); ++i) a_shifted[i] = static_cast<uint8_t>(src[i] + 128);
        a = a_shifted.data();
        a_zp += 128;
    }
    if (a_zp < 0 || a_zp > 255) return int8_gemm_reference(g);  // a zero point outside the codes' range
    // B as s8 (N, K): uint8 codes and their zero points shift by -128.
    std::vector<int8_t> b_nk(static_cast<size_t>(g.n * g.k));
    for (int64_t j = 0; j < g.n; ++j) {
        for (int64_t k = 0; k < g.k; ++k) {
            const int64_t src = g.b_nk ? j * g.k + k : k * g.n + j;
            b_nk[static_cast<size_t>(j * g.k + k)] =
                g.b.is_signed ? static_cast<const int8_t*>(g.b.data)[src]
                              : static_cast<int8_t>(static_cast<const uint8_t*>(g.b.data)[src] - 128);
        }
    }
    const int32_t b_shift = g.b.is_signed ? 0 : 128;
    const GemmQ8PackedB packed(gemm_q8_kernel(), b_nk.data(), g.k, true, g.k, g.n);
    GemmQ8Args args;
    args.m = g.m, args.n = g.n, args.k = g.k;
    args.a = a, args.lda = g.k, args.a_zero_point = a_zp;
    args.b = &packed;
    args.output = Q8Output::s32;
    args.c = g.c, args.ldc = g.n;
    gemm_q8(args);
    // sum (a - azp)(b - bzp) = sum (a - azp) b - bzp * sum (a - azp).
    bool any_bzp = false;
    for (int64_t j = 0; j < g.b_zp_count; ++j) any_bzp |= g.b_zp[j] - b_shift != 0;
    if (!any_bzp) return;
    for (int64_t i = 0; i < g.m; ++i) {
        int64_t row = 0;
        for (int64_t k = 0; k < g.k; ++k) row += a[i * g.k + k] - a_zp;
        for (int64_t j = 0; j < g.n; ++j) {
            const int64_t bzp = g.b_zp[g.b_zp_count == 1 ? 0 : j] - b_shift;
            const uint32_t fix = static_cast<uint32_t>(static_cast<uint64_t>(bzp * row));
            g.c[i * g.n + j] = static_cast<int32_t>(static_cast<uint32_t>(g.c[i * g.n + j]) - fix);
        }
    }
}

}  // namespace tern::graph
