#pragma once
// The loops over rows both SIMD files instantiate with their own vector types
// and row kernels. The several-activation-rows CSR loop: per weight row, up to
// 4 vectors of `Lanes` activation rows read from the transposed (K, M)
// activations, one multiply-add per nonzero and vector, then
// `store(r, i0, acc, count)`; mask_of(n) gives the first n lanes' mask, fma /
// load the ISA's operations (lambdas, so each file's instantiation is its own).
#include <algorithm>
#include <cstdint>

namespace tern::sparse_detail {

template <int Lanes, int NB, class Acc, class Csr, class X, class MaskOf, class Fma, class Load>
void csr_rows_block(const Csr& w, int64_t r, const X* xt, int64_t m, int64_t i0, Acc* out, MaskOf mask_of, Fma fma, Load load) {
    Acc acc[NB];
    decltype(mask_of(int64_t{0})) mask[NB];
    for (int b = 0; b < NB; ++b) {
        acc[b] = Acc{};
        mask[b] = mask_of(std::max<int64_t>(0, m - i0 - Lanes * b));
    }
    for (uint32_t j = w.row_ptr[static_cast<size_t>(r)]; j < w.row_ptr[static_cast<size_t>(r) + 1]; ++j) {
        const X* xr = xt + static_cast<int64_t>(w.col[j]) * m + i0;
        for (int b = 0; b < NB; ++b) acc[b] = fma(acc[b], w.val[j], load(mask[b], xr + Lanes * b));
    }
    for (int b = 0; b < NB; ++b) out[b] = acc[b];
}

template <int Lanes, class Csr, class X, class Acc, class MaskOf, class Fma, class Load, class Store>
void csr_multi_rows(const Csr& w, int64_t r0, int64_t r1, const X* xt, int64_t m, MaskOf mask_of, Fma fma, Load load,
                    Store store) {
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t i0 = 0; i0 < m; i0 += 4 * Lanes) {
            Acc acc[4];
            const int nb = static_cast<int>(std::min<int64_t>(4, (m - i0 + Lanes - 1) / Lanes));
            switch (nb) {
                case 1: csr_rows_block<Lanes, 1>(w, r, xt, m, i0, acc, mask_of, fma, load); break;
                case 2: csr_rows_block<Lanes, 2>(w, r, xt, m, i0, acc, mask_of, fma, load); break;
                case 3: csr_rows_block<Lanes, 3>(w, r, xt, m, i0, acc, mask_of, fma, load); break;
                default: csr_rows_block<Lanes, 4>(w, r, xt, m, i0, acc, mask_of, fma, load); break;
            }
            store(r, i0, acc, std::min<int64_t>(4 * Lanes, m - i0));
        }
}

// The bitmap int8 layout over rows [r0, r1) of W and m activation rows, with
// each ISA's row_dot(mask, values, x, blocks) = sum of values x (x + 128 codes);
// the +128 offset and the scales are undone here.
template <class Bitmap, class RowDot>
void bitmap_rows(const Bitmap& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m, float* y,
                 int64_t ldy, RowDot row_dot) {
    const int64_t blocks = w.k_pad / Bitmap::kBlock;
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = 0; i < m; ++i) {
            const int32_t dot = row_dot(w.mask.data() + r * blocks, w.val.data() + w.row_ptr[static_cast<size_t>(r)],
                                        xu + i * w.k_pad, blocks);
            const int32_t acc = dot - 128 * w.row_sum[static_cast<size_t>(r)];
            y[i * ldy + r] = static_cast<float>(acc) * (w.scale[static_cast<size_t>(r)] * x_scale[i]);
        }
}

}  // namespace tern::sparse_detail
