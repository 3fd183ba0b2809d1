// Scalar reference of the sparse kernels: the definition of the math every
// vector variant must reproduce (int32 sums exactly, f32 sums to rounding).
#include "kernels/sparse/sparse.h"

#include <cstring>

namespace tern {
namespace {

void csr_f32_scalar(const CsrF32& w, int64_t r0, int64_t r1, const float* xt, int64_t m, float* y, int64_t ldy) {
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = 0; i < m; ++i) {
            float acc = 0;
            for (uint32_t j = w.row_ptr[static_cast<size_t>(r)]; j < w.row_ptr[static_cast<size_t>(r) + 1]; ++j)
                acc += w.val[j] * xt[w.col[j] * m + i];
            y[i * ldy + r] = acc;
        }
}

void csr_s8_scalar(const CsrS8& w, int64_t r0, int64_t r1, const int32_t* xt, const float* x_scale, int64_t m,
                   float* y, int64_t ldy) {
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = 0; i < m; ++i) {
            int32_t acc = 0;
            for (uint32_t j = w.row_ptr[static_cast<size_t>(r)]; j < w.row_ptr[static_cast<size_t>(r) + 1]; ++j)
                acc += w.val[j] * xt[w.col[j] * m + i];
            y[i * ldy + r] = static_cast<float>(acc) * (w.scale[static_cast<size_t>(r)] * x_scale[i]);
        }
}

void s24_s8_scalar(const Sparse24S8& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m,
                   float* y, int64_t ldy) {
    const int64_t vals = w.k_pad / 2, pbytes = w.k_pad / 8;
    for (int64_t r = r0; r < r1; ++r) {
        const int8_t* v = w.val.data() + r * vals;
        const uint8_t* p = w.pos.data() + r * pbytes;
        for (int64_t i = 0; i < m; ++i) {
            const uint8_t* x = xu + i * w.k_pad;
            int32_t acc = 0;
            for (int64_t g = 0; g < w.k_pad / 4; ++g) {
                const int nib = g % 2 ? p[g / 2] >> 4 : p[g / 2] & 15;
                acc += v[2 * g] * (x[4 * g + (nib & 3)] - 128) + v[2 * g + 1] * (x[4 * g + (nib >> 2)] - 128);
            }
            // (acc · row scale) · activation scale: w8a8_matmul's order, so a sparse24_q8 Linear gives
            // bit-for-bit the w8a8 path's outputs (ops/linear_sparse24.h).
            y[i * ldy + r] = (static_cast<float>(acc) * w.scale[static_cast<size_t>(r)]) * x_scale[i];
        }
    }
}

void bitmap_s8_scalar(const BitmapS8& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m,
                      float* y, int64_t ldy) {
    const int64_t blocks = w.k_pad / BitmapS8::kBlock;
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = 0; i < m; ++i) {
            const uint8_t* x = xu + i * w.k_pad;
            const int8_t* v = w.val.data() + w.row_ptr[static_cast<size_t>(r)];
            int32_t acc = 0;
            for (int64_t b = 0; b < blocks; ++b)
                for (uint64_t bits = w.mask[static_cast<size_t>(r * blocks + b)]; bits; bits &= bits - 1)
                    acc += *v++ * (x[64 * b + __builtin_ctzll(bits)] - 128);
            y[i * ldy + r] = static_cast<float>(acc) * (w.scale[static_cast<size_t>(r)] * x_scale[i]);
        }
}

}  // namespace

void s24_densify_scalar(const Sparse24S8& w, int64_t r0, int cols, int nr, int8_t* dst) {
    const int64_t quads = w.k_pad / 4, vals = w.k_pad / 2, pbytes = w.k_pad / 8;
    std::memset(dst, 0, static_cast<size_t>(quads * nr * 4));
    for (int c = 0; c < cols; ++c) {
        const int8_t* v = w.val.data() + (r0 + c) * vals;
        const uint8_t* p = w.pos.data() + (r0 + c) * pbytes;
        for (int64_t g = 0; g < quads; ++g) {
            const int nib = g % 2 ? p[g / 2] >> 4 : p[g / 2] & 15;
            int8_t* out = dst + (g * nr + c) * 4;
            out[nib >> 2] = v[2 * g + 1];
            out[nib & 3] = v[2 * g];  // second: p0 == p1 keeps val[2g]
        }
    }
}

const SparseKernels kSparseScalar = {
    .name = "sparse_scalar",
    .isa = Isa::scalar,
    .csr_f32 = csr_f32_scalar,
    .csr_s8 = csr_s8_scalar,
    .s24_s8 = s24_s8_scalar,
    .bitmap_s8 = bitmap_s8_scalar,
    .s24_densify = s24_densify_scalar,
};

}  // namespace tern
